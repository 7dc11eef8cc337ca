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


def _png(code: qrcode.QRCode) -> bytes:
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def _svg(code: qrcode.QRCode) -> str:
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return image.to_string(encoding="unicode")


def qr_png(data: str) -> bytes:
    return _png(_make(data))


def qr_svg(data: str) -> str:
    """A standalone SVG document that scales to any print size."""
    return _svg(_make(data))


def qr_png_and_svg(data: str) -> tuple[bytes, str]:
    """Both images of one code. Making the code (choosing its mask) costs more than drawing
    it, so a batch that needs both (the letters ZIP) makes it once."""
    code = _make(data)
    return _png(code), _svg(code)
