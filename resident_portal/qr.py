"""QR codes for posters and household letters, as PNG or SVG (qrcode package)."""

import io

import qrcode
import qrcode.image.svg
from flask import current_app, request, url_for
from qrcode.constants import ERROR_CORRECT_M


def public_url(endpoint: str, **values) -> str:
    """An absolute URL as residents' phones must reach it.

    The server rarely knows its own public address (it sits behind a proxy or NAT), so
    PUBLIC_BASE_URL decides when it is set; otherwise the address of the current request.
    """
    path = url_for(endpoint, **values)
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    return base + path


def _make(data: str) -> qrcode.QRCode:
    # Level M survives a crease or a smudge on a printed poster; a 4-module quiet zone is what
    # phone cameras expect.
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_png(data: str) -> bytes:
    buffer = io.BytesIO()
    _make(data).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(data: str) -> str:
    """A standalone SVG document that scales to any print size."""
    image = _make(data).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return image.to_string(encoding="unicode")
