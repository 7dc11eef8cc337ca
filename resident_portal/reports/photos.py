"""Photos from phones: checked by content, re-encoded, stored by content hash.

Nothing a resident uploads is ever served as it came: the real type is read from the bytes
(JPEG, PNG, WebP), decompression bombs are refused, the orientation is applied, and the picture
is re-encoded as a JPEG of at most 2048 px with no metadata at all (EXIF, GPS). Photos are
kept behind PhotoStore, never in the static folder, in one of three places (PHOTO_STORE):

- `directory`: files in PHOTO_DIR (default instance/photos), for one server on SQLite;
- `database`: rows of `stored_photo`, the default on PostgreSQL, so that several app servers
  sharing the database serve every photo; written in the transaction that refers to it;
- `s3`: an S3-compatible bucket (PHOTO_S3_BUCKET, PHOTO_S3_ENDPOINT_URL…), through boto3.

Every store is content-addressed (the key is the SHA-256 of the JPEG): a photo is stored once,
never changed, and storing it again is harmless.
"""

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, select

from ..common import N_
from ..extensions import db
from .models import StoredPhoto

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel phone photo; more is a bomb or not a photo
LONG_SIDE = 2048
THUMB_SIDE = 480
FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}  # MPO: multi-picture JPEG some phones write
KEY = re.compile(r"^[0-9a-f]{64}$")


class PhotoError(Exception):
    """A refused photo; `message` is an untranslated msgid."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.params: dict = {}


@dataclass(frozen=True)
class Photo:
    key: str  # SHA-256 of the re-encoded JPEG
    jpeg: bytes
    thumbnail: bytes


def _encode(image: Image.Image, side: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, format="JPEG", quality=85, optimize=True)  # no exif=: nothing is carried
    return out.getvalue()


def reencode(data: bytes) -> Photo:
    if len(data) > MAX_BYTES:
        raise PhotoError(N_("A photo may be at most 10 MB."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise PhotoError(N_("Only photos can be attached (JPEG, PNG or WebP)."))
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(N_("The picture has too many pixels."))
            image.load()
            image = ImageOps.exif_transpose(image)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(N_("The picture has too many pixels.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise PhotoError(N_("Only photos can be attached (JPEG, PNG or WebP).")) from None
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    else:
        image = image.convert("RGB")
    jpeg = _encode(image, LONG_SIDE)
    return Photo(
        key=hashlib.sha256(jpeg).hexdigest(), jpeg=jpeg, thumbnail=_encode(image, THUMB_SIDE)
    )


class PhotoStore:
    """Where photos are kept: `put` a photo, `read` its JPEG or thumbnail back by key."""

    kind = ""

    def put(self, photo: Photo) -> None:
        raise NotImplementedError

    def read(self, key: str, thumbnail: bool = False) -> bytes | None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove the photo and its thumbnail (for the privacy purge); nothing if absent. The
        caller makes sure no report or ballot refers to it any more."""
        raise NotImplementedError


class DirectoryPhotoStore(PhotoStore):
    """Files on this server's disk: for a single server."""

    kind = "directory"

    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, key: str, thumbnail: bool) -> Path:
        if not KEY.match(key):
            raise ValueError("not a photo key")
        return self.root / key[:2] / f"{key}{'-thumb' if thumbnail else ''}.jpg"

    def put(self, photo: Photo) -> None:
        for thumbnail, data in ((False, photo.jpeg), (True, photo.thumbnail)):
            path = self._path(photo.key, thumbnail)
            if path.exists():
                continue  # same content, same key: stored once
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)  # readers never see half a file

    def read(self, key: str, thumbnail: bool = False) -> bytes | None:
        try:
            return self._path(key, thumbnail).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def delete(self, key: str) -> None:
        for thumbnail in (False, True):
            self._path(key, thumbnail).unlink(missing_ok=True)


class DatabasePhotoStore(PhotoStore):
    """Rows of the app's own database, so every server sharing it sees every photo, and
    backups of the database hold the photos too. `put` joins the caller's transaction: a
    refused report or ballot leaves no photo behind."""

    kind = "database"

    def put(self, photo: Photo) -> None:
        if not KEY.match(photo.key):
            raise ValueError("not a photo key")
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        # Two servers storing the same picture at once: one row wins, the other is a no-op.
        db.session.execute(
            insert(StoredPhoto)
            .values(photo_key=photo.key, jpeg=photo.jpeg, thumbnail=photo.thumbnail)
            .on_conflict_do_nothing(index_elements=["photo_key"])
        )

    def read(self, key: str, thumbnail: bool = False) -> bytes | None:
        if not KEY.match(key):
            return None
        column = StoredPhoto.thumbnail if thumbnail else StoredPhoto.jpeg
        return db.session.scalar(select(column).where(StoredPhoto.photo_key == key))

    def delete(self, key: str) -> None:
        if not KEY.match(key):
            raise ValueError("not a photo key")
        db.session.execute(delete(StoredPhoto).where(StoredPhoto.photo_key == key))


class S3PhotoStore(PhotoStore):
    """Objects in an S3-compatible bucket (AWS, MinIO, Ceph, a cloud's object storage).
    An object written for a transaction that then fails stays behind, harmless: nothing
    refers to it, and the same picture would have the same key."""

    kind = "s3"

    def __init__(self, client, bucket: str, prefix: str = "photos/"):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _name(self, key: str, thumbnail: bool) -> str:
        if not KEY.match(key):
            raise ValueError("not a photo key")
        return f"{self.prefix}{key[:2]}/{key}{'-thumb' if thumbnail else ''}.jpg"

    def put(self, photo: Photo) -> None:
        for thumbnail, data in ((False, photo.jpeg), (True, photo.thumbnail)):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._name(photo.key, thumbnail),
                Body=data,
                ContentType="image/jpeg",
            )

    def read(self, key: str, thumbnail: bool = False) -> bytes | None:
        try:
            name = self._name(key, thumbnail)
        except ValueError:
            return None
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=name)
        except self.client.exceptions.NoSuchKey:
            return None
        return answer["Body"].read()

    def delete(self, key: str) -> None:
        for thumbnail in (False, True):
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key, thumbnail))


STORES = ("directory", "database", "s3")


def store_kind(config) -> str:
    """PHOTO_STORE if set; otherwise s3 when a bucket is configured, database on PostgreSQL,
    a directory on SQLite (one server)."""
    if config.get("PHOTO_STORE"):
        return config["PHOTO_STORE"]
    if config.get("PHOTO_S3_BUCKET"):
        return "s3"
    if str(config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("postgresql"):
        return "database"
    return "directory"


def make_store(app) -> PhotoStore:
    kind = store_kind(app.config)
    if kind == "database":
        return DatabasePhotoStore()
    if kind == "s3":
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=app.config.get("PHOTO_S3_ENDPOINT_URL") or None,
            region_name=app.config.get("PHOTO_S3_REGION") or None,
        )
        return S3PhotoStore(client, app.config["PHOTO_S3_BUCKET"], app.config["PHOTO_S3_PREFIX"])
    root = app.config.get("PHOTO_DIR") or os.path.join(app.instance_path, "photos")
    return DirectoryPhotoStore(root)


photos_cli = AppGroup("photos", help="Report photos and paper-ballot evidence.")


@photos_cli.command("import-dir")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_dir(folder: Path):
    """Copy the photos of a directory store (a single server's PHOTO_DIR) into the store this
    app uses now: the database or a bucket, when moving to several servers. Run it again at
    will: photos already there are stored once."""
    store = photo_store()
    if isinstance(store, DirectoryPhotoStore) and store.root.resolve() == folder.resolve():
        raise click.ClickException(_("These photos are already in the store this app uses."))
    copied = 0
    for path in sorted(folder.glob("??/*.jpg")):
        key = path.stem
        if not KEY.match(key):
            continue  # thumbnails are read with their photo
        jpeg = path.read_bytes()
        thumbnail_path = path.with_name(f"{key}-thumb.jpg")
        if hashlib.sha256(jpeg).hexdigest() != key or not thumbnail_path.exists():
            click.echo(_("Skipped %(file)s: it is not a stored photo.", file=str(path)), err=True)
            continue
        store.put(Photo(key=key, jpeg=jpeg, thumbnail=thumbnail_path.read_bytes()))
        db.session.commit()  # one photo at a time: an interrupted copy keeps what it copied
        copied += 1
    click.echo(_("%(count)s photos copied.", count=copied))


def init_app(app) -> None:
    app.extensions["photo_store"] = make_store(app)
    app.cli.add_command(photos_cli)


def photo_store() -> PhotoStore:
    return current_app.extensions["photo_store"]
