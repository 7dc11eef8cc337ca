"""The wheel and the sdist, built and installed as a deployer would (issue 14, point 1).

`python -m build` makes the sdist and then the wheel from it; the wheel goes into a fresh
virtualenv (pip, from PyPI or its cache, as on a deployer's machine), and the README's
commands run from an empty folder, outside the checkout: the migrations, an estate, the demo,
and a page served by gunicorn, in Chinese unless DEFAULT_LANGUAGE says otherwise.
"""

import os
import re
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def run(command, **kwargs) -> str:
    done = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=600, **kwargs
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, cookie: str = "") -> tuple[int, str]:
    assert url.startswith("http://127.0.0.1:")  # our own server
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return answer.status, answer.read().decode("utf-8")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.skip("the 'build' package is not installed (pip install -e '.[test]')")
    run([sys.executable, "-m", "build", "--outdir", out, ROOT])
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def test_wheel_and_sdist_carry_templates_static_migrations_and_compiled_catalogs(dist):
    wheel, sdist = dist
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for template in ROOT.glob("templates/**/*.html"):
        relative = template.relative_to(ROOT).as_posix()
        assert f"resident_portal/{relative}" in in_wheel
        assert relative in in_sdist
    for language in ("zh_Hans_CN", "en"):
        catalog = f"translations/{language}/LC_MESSAGES/messages.mo"
        assert f"resident_portal/{catalog}" in in_wheel
        assert catalog in in_sdist
    for revision in ROOT.glob("resident_portal/migrations/versions/*.py"):
        assert revision.relative_to(ROOT).as_posix() in in_wheel
    for needed in ("env.py", "alembic.ini", "script.py.mako"):
        assert f"resident_portal/migrations/{needed}" in in_wheel
    assert "resident_portal/static/style.css" in in_wheel
    assert "resident_portal/demo/meiyuan_registry.csv" in in_wheel
    assert {"survey/tally.py", "contributions/sharing.py"} <= in_wheel
    # the catalogs are compiled during the build, never committed
    tracked = run(["git", "-C", ROOT, "ls-files", "*.mo"])
    assert tracked.strip() == ""


def test_installed_wheel_runs_from_an_empty_folder_in_chinese(dist, tmp_path):
    wheel, _sdist = dist
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel])

    empty = tmp_path / "empty"
    empty.mkdir()
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "PYTHONPATH",
            "DATABASE_URL",
            "REDIS_URL",
            "INSTANCE_PATH",
            "DEFAULT_LANGUAGE",
            "PHOTO_DIR",
            "PHOTO_STORE",
            "VIRTUAL_ENV",
        )
    }
    env.update(
        SECRET_KEY="package-test-secret",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        PATH=f"{environment / 'bin'}:{env.get('PATH', '')}",
    )
    flask = [environment / "bin" / "flask", "--app", "resident_portal"]

    def cli(*arguments, **extra):
        return run([*flask, *arguments], cwd=empty, env={**env, **extra})

    # the installed package, not the checkout
    where = run([python, "-c", "import resident_portal as p; print(p.__file__)"], cwd=empty)
    assert str(environment) in where and str(ROOT) not in where

    cli("db", "upgrade")
    assert "已创建小区" in cli("estate", "create", "lanting", "--name", "兰亭小区")
    # the command line speaks the configured default language
    english = cli("estate", "create", "xinyuan", "--name", "新苑小区", DEFAULT_LANGUAGE="en")
    assert "Estate xinyuan created" in english
    demo = cli("demo")
    assert "演示小区美苑小区" in demo and "访问码" in demo
    assert os.listdir(empty) == []  # nothing written into the working folder
    # Flask's instance folder of an installed package: <venv>/var/resident_portal-instance
    assert (environment / "var" / "resident_portal-instance" / "resident_portal.sqlite3").exists()

    log = tmp_path / "gunicorn.log"
    log_file = log.open("wb")
    server = subprocess.Popen(  # noqa: S603
        [
            environment / "bin" / "gunicorn",
            "-c",
            "python:resident_portal.gunicorn_conf",
            "resident_portal:create_app()",
        ],
        cwd=empty,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if fetch(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    pytest.fail("gunicorn did not start:\n" + log.read_text())
                time.sleep(0.3)
        status, page = fetch(f"{base}/e/meiyuan")
        assert status == 200
        assert "美苑小区" in page and "第1步（共4步）：选择您的楼栋。" in page
        assert re.search(r'<link[^>]+href="/static/style\.css', page)
        assert fetch(f"{base}/static/style.css")[0] == 200
        status, page = fetch(f"{base}/e/meiyuan", cookie="lang=en")
        assert "Step 1 of 4: choose your building." in page
        status, ready = fetch(f"{base}/readyz")
        assert status == 200 and '"ready"' in ready
    finally:
        server.terminate()
        server.wait(timeout=30)
        log_file.close()
