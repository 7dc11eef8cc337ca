"""Photos from phones: checked by content, re-encoded, stored by content hash.

Nothing a resident uploads is ever served as it came: the real type is read from the bytes
(JPEG, PNG, WebP), decompression bombs are refused, the orientation is applied, and the picture
is re-encoded as a JPEG of at most 2048 px with no metadata at all (EXIF, GPS). Files live
outside the static folder behind PhotoStore, so they can move to object storage later.
"""

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from ..common import N_

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
    """Local disk now; anything with put/read (object storage) later."""

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


def init_app(app) -> None:
    root = app.config.get("PHOTO_DIR") or os.path.join(app.instance_path, "photos")
    app.extensions["photo_store"] = PhotoStore(root)


def photo_store() -> PhotoStore:
    return current_app.extensions["photo_store"]
