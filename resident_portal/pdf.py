"""PDF for the print shop: the print pages themselves, laid out by WeasyPrint.

The PDF is made from the very HTML the browser prints (same template, same stylesheet, its
`@media print` rules and `@page` size and margins), so the two cannot drift apart. QR codes
are inline SVG in that HTML; the stylesheet is read from the static folder. Nothing is fetched
over the network: any other address is refused. Chinese text needs the Noto CJK fonts
(`fonts-noto-cjk`), which fontconfig finds for `font-family: sans-serif`.
"""

import mimetypes
from pathlib import Path
from urllib.parse import urlsplit

from flask import Response, current_app

PDF_MIMETYPE = "application/pdf"


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AppFetcher(URLFetcher):
        """Serves the app's static files from disk and inline data; refuses everything else."""

        def __init__(self, static_folder: str, static_url_path: str):
            super().__init__(allowed_protocols={"data", "http", "https"})
            self.static_folder = Path(static_folder).resolve()
            self.prefix = static_url_path.rstrip("/") + "/"

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = urlsplit(url).path
            if not path.startswith(self.prefix):
                raise ValueError(f"not fetched for a PDF: {url}")
            file = (self.static_folder / path[len(self.prefix) :]).resolve()
            if self.static_folder not in file.parents or not file.is_file():
                raise ValueError(f"no such static file: {url}")
            mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, file.read_bytes(), {"Content-Type": mimetype})

    return AppFetcher


def html_to_pdf(html: str, base_url: str = "http://localhost/") -> bytes:
    import weasyprint

    app = current_app
    fetcher = _fetcher_class()(app.static_folder, app.static_url_path)
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()


def pdf_response(html: str, filename: str, base_url: str = "http://localhost/") -> Response:
    return Response(
        html_to_pdf(html, base_url),
        mimetype=PDF_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def wants_pdf(request) -> bool:
    """`?format=pdf` on a print page asks for the same page as a PDF."""
    return request.args.get("format") == "pdf"
