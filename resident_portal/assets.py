"""The stylesheets as browsers get them: minified by rcssmin, at the URLs of the static folder.

The readable stylesheets (comments, one rule a line) stay in `static/`; a phone on a slow
network gets them without comments and spaces, a quarter lighter. Each is minified when the app
starts and again whenever its file changes (a developer editing it), kept in memory and served
with the static files' own caching (ETag, Last-Modified, `no-cache` unless
SEND_FILE_MAX_AGE_DEFAULT says otherwise), so `url_for('static', filename='style.css')` is
unchanged. PDFs read the readable files from disk (resident_portal/pdf.py): the same rules.
"""

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import rcssmin
from flask import Flask, current_app, send_file

MINIFIED_SUFFIXES = {".css": "text/css"}


@dataclass(frozen=True)
class Minified:
    body: bytes
    etag: str
    modified: float  # the readable file's mtime


def minify(path: Path) -> Minified:
    source = path.read_text(encoding="utf-8")
    body = rcssmin.cssmin(source).encode("utf-8")
    return Minified(body, hashlib.sha256(body).hexdigest()[:20], path.stat().st_mtime)


def init_app(app: Flask) -> None:
    """Serve the static folder's stylesheets minified; everything else as Flask does."""
    folder = Path(app.static_folder)
    cache: dict[str, Minified] = {
        path.name: minify(path)
        for path in sorted(folder.iterdir())
        if path.suffix in MINIFIED_SUFFIXES
    }
    serve_file = app.view_functions["static"]

    def static(filename: str):
        if filename not in cache:
            return serve_file(filename=filename)
        path = folder / filename
        if os.stat(path).st_mtime != cache[filename].modified:
            cache[filename] = minify(path)
        asset = cache[filename]
        return send_file(
            io.BytesIO(asset.body),
            mimetype=MINIFIED_SUFFIXES[path.suffix],
            download_name=filename,
            etag=asset.etag,
            last_modified=asset.modified,
            max_age=current_app.get_send_file_max_age(filename),
            conditional=True,
        )

    app.view_functions["static"] = static
