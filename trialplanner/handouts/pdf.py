"""PDF rendering with WeasyPrint, fetching nothing but the app's own static files."""

import functools
import mimetypes
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

# Static URLs in the handout resolve against this base; no request ever leaves the process.
BASE_URL = "https://handout.invalid/"
HOST = "handout.invalid"


class BlockedFetch(ValueError):
    pass


class StaticOnlyFetcher(URLFetcher):
    """Serve /static/... from the app's static files; refuse every other URL (network, file:, data:)."""

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        static_prefix = "/" + settings.STATIC_URL.strip("/") + "/"
        if parts.scheme != "https" or parts.hostname != HOST or not parts.path.startswith(static_prefix):
            raise BlockedFetch(f"Blocked a {parts.scheme or 'relative'} URL in a handout")
        relative = unquote(parts.path[len(static_prefix) :])
        if ".." in relative.split("/"):
            raise BlockedFetch("Blocked path traversal in a handout URL")
        path = _static_path(relative)
        if not path:
            raise BlockedFetch("No such static file")
        with open(path, "rb") as fh:
            body = fh.read()
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


def _static_path(relative):
    """A collected (possibly hashed) file in STATIC_ROOT, else the source file in the app's static folders."""
    if staticfiles_storage.exists(relative):
        return staticfiles_storage.path(relative)
    return finders.find(relative)


# Fonts are found and loaded once per process, not once per handout (about a quarter of a render).
FONTS = FontConfiguration()
HANDOUT_CSS = "css/handout.css"  # given to WeasyPrint parsed; the PDF's HTML links no stylesheet


@functools.cache
def stylesheets() -> tuple:
    """The handout stylesheet, parsed once per process (it was 11-18% of each render)."""
    path = _static_path(HANDOUT_CSS)
    return (CSS(filename=path, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher(), font_config=FONTS),)


def render_pdf(html: str) -> bytes:
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher())
    return document.write_pdf(stylesheets=stylesheets(), font_config=FONTS)
