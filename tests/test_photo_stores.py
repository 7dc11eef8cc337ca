"""Where photos are kept (issue 14, point 4): a directory for one server, the database (the
default on PostgreSQL, so every app server sees every photo), or an S3-compatible bucket."""

import os

import pytest
from sqlalchemy import func, select

from resident_portal.config import ConfigError
from resident_portal.extensions import db
from resident_portal.reports.models import StoredPhoto
from resident_portal.reports.photos import (
    DatabasePhotoStore,
    DirectoryPhotoStore,
    S3PhotoStore,
    photo_store,
    reencode,
    store_kind,
)

from .conftest import make_app
from .test_reports import phone_photo


@pytest.fixture(scope="module")
def photo():
    return reencode(phone_photo(600, 400, 1))


def test_the_store_follows_the_configuration():
    sqlite = "sqlite:////tmp/x.sqlite3"
    postgres = "postgresql+psycopg://u@h/db"
    assert store_kind({"SQLALCHEMY_DATABASE_URI": sqlite}) == "directory"
    assert store_kind({"SQLALCHEMY_DATABASE_URI": postgres}) == "database"
    assert store_kind({"SQLALCHEMY_DATABASE_URI": postgres, "PHOTO_S3_BUCKET": "b"}) == "s3"
    assert store_kind({"SQLALCHEMY_DATABASE_URI": sqlite, "PHOTO_S3_BUCKET": "b"}) == "s3"
    chosen = {"SQLALCHEMY_DATABASE_URI": postgres, "PHOTO_STORE": "directory"}
    assert store_kind(chosen) == "directory"
    assert store_kind({"SQLALCHEMY_DATABASE_URI": sqlite, "PHOTO_STORE": "database"}) == "database"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"PHOTO_STORE": "ftp"}, "PHOTO_STORE must be"),
        ({"PHOTO_STORE": "s3"}, "PHOTO_S3_BUCKET"),
    ],
)
def test_a_wrong_store_setting_stops_the_app(database_url, settings, message):
    with pytest.raises(ConfigError, match=message):
        make_app(database_url, **settings)


def test_the_app_picks_its_store(app, database_url):
    expected = DatabasePhotoStore if database_url.startswith("postgresql") else DirectoryPhotoStore
    assert type(photo_store()) is expected


def _round_trip(store, photo):
    store.put(photo)
    store.put(photo)  # the same picture again: stored once, no error
    assert store.read(photo.key) == photo.jpeg
    assert store.read(photo.key, thumbnail=True) == photo.thumbnail
    assert store.read("0" * 64) is None  # never stored
    assert store.read("../../etc/passwd") is None  # not a key: nothing is looked up
    with pytest.raises(ValueError):
        store.delete("../../etc/passwd")


def _delete(store, photo):
    store.delete(photo.key)
    store.delete(photo.key)  # already gone: nothing happens
    assert store.read(photo.key) is None and store.read(photo.key, thumbnail=True) is None


def test_directory_store(tmp_path, photo):
    store = DirectoryPhotoStore(str(tmp_path))
    _round_trip(store, photo)
    assert sorted(os.listdir(tmp_path / photo.key[:2])) == [
        f"{photo.key}-thumb.jpg",
        f"{photo.key}.jpg",
    ]
    _delete(store, photo)
    assert os.listdir(tmp_path / photo.key[:2]) == []


def test_database_store_writes_in_the_callers_transaction(app, photo):
    store = DatabasePhotoStore()
    # a refused report or ballot (rolled back) leaves no photo behind
    store.put(photo)
    db.session.rollback()
    assert store.read(photo.key) is None
    _round_trip(store, photo)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(StoredPhoto)) == 1
    db.session.expire_all()
    assert store.read(photo.key) == photo.jpeg
    _delete(store, photo)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(StoredPhoto)) == 0


def test_s3_store(s3_bucket, photo):
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_bucket["PHOTO_S3_ENDPOINT_URL"],
        region_name=s3_bucket["PHOTO_S3_REGION"],
    )
    store = S3PhotoStore(client, s3_bucket["PHOTO_S3_BUCKET"], "photos/")
    _round_trip(store, photo)
    listed = client.list_objects_v2(Bucket=s3_bucket["PHOTO_S3_BUCKET"])["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        f"photos/{photo.key[:2]}/{photo.key}-thumb.jpg",
        f"photos/{photo.key[:2]}/{photo.key}.jpg",
    ]
    _delete(store, photo)
    assert "Contents" not in client.list_objects_v2(Bucket=s3_bucket["PHOTO_S3_BUCKET"])


def test_the_app_uses_an_s3_bucket_when_configured(database_url, s3_bucket, photo):
    app = make_app(database_url, **s3_bucket)
    with app.app_context():
        assert type(photo_store()) is S3PhotoStore
        photo_store().put(photo)
        assert photo_store().read(photo.key) == photo.jpeg
        db.engine.dispose()


def test_photos_of_a_single_server_move_into_the_shared_store(database_url, tmp_path, photo):
    """`photos import-dir`: from a directory store (SQLite, one server) to the database."""
    folder = tmp_path / "photos"
    other = reencode(phone_photo(300, 500, 1))
    DirectoryPhotoStore(str(folder)).put(photo)
    DirectoryPhotoStore(str(folder)).put(other)
    (folder / photo.key[:2] / ("f" * 64 + ".jpg")).write_bytes(b"not what its name says")
    app = make_app(database_url, PHOTO_STORE="database")
    with app.app_context():
        try:
            for _run in range(2):  # again: nothing is stored twice, nothing fails
                result = app.test_cli_runner().invoke(args=["photos", "import-dir", str(folder)])
                assert result.exit_code == 0, result.output
                assert "已复制2张照片" in result.output
                assert "跳过" in result.output
            assert db.session.scalar(select(func.count()).select_from(StoredPhoto)) == 2
            assert photo_store().read(other.key, thumbnail=True) == other.thumbnail
        finally:
            db.session.rollback()
            db.session.execute(StoredPhoto.__table__.delete())
            db.session.commit()
            db.engine.dispose()
    same = make_app(database_url, PHOTO_STORE="directory", PHOTO_DIR=str(folder))
    with same.app_context():
        result = same.test_cli_runner().invoke(args=["photos", "import-dir", str(folder)])
        assert result.exit_code != 0
        db.engine.dispose()
