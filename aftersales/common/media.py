"""Uploaded files (photos, signatures, scans) are private: there is no public media folder. The default storage
(``SignedMediaStorage``) gives every file an address under ``MEDIA_URL`` with a signature that expires after
``MEDIA_LINK_SECONDS``, made when a page or an API answer that may show the file is rendered: whoever could see that
page can load its pictures for a while, nobody can guess another file's address, and a copied address stops working.
``serve`` checks the signature and streams the file (``/media/<name>?s=…``); anything else is a 404.

Pages whose pictures come through views of their own (an estimate's photos, the shop's item photos, an authorization's
signature) keep those; this is for the rest (reception, courtesy cars, rescue, assessments)."""

from __future__ import annotations

import mimetypes
import posixpath
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

SALT = "aftersales.media"
SHOWN_INLINE = {"image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"}


def link_seconds() -> int:
    return int(getattr(settings, "MEDIA_LINK_SECONDS", 6 * 3600))


def signed_url(name: str) -> str:
    value = signing.TimestampSigner(salt=SALT).sign(name)
    token = value[len(name) + 1:]  # "<timestamp>:<signature>"
    return f"{settings.MEDIA_URL}{quote(name)}?s={quote(token)}"


class SignedMediaStorage(FileSystemStorage):
    """Django's file system storage, with addresses that are signed and expire (see the module)."""

    def url(self, name: str | None) -> str:
        if not name:
            raise ValueError("This file has no name.")
        return signed_url(name.replace("\\", "/"))


def _clean(name: str) -> str:
    cleaned = posixpath.normpath(name)
    if cleaned != name or cleaned.startswith(("/", "../")) or cleaned in (".", "..") or "\x00" in cleaned:
        raise Http404
    return cleaned


@require_GET
def serve(request: HttpRequest, name: str) -> FileResponse:
    name = _clean(name)
    token = request.GET.get("s", "")
    try:
        if signing.TimestampSigner(salt=SALT).unsign(f"{name}:{token}", max_age=link_seconds()) != name:
            raise Http404
    except signing.BadSignature as exc:  # SignatureExpired is one
        raise Http404 from exc
    path = Path(settings.MEDIA_ROOT) / name
    if not path.is_file():
        raise Http404
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type,
                            as_attachment=content_type not in SHOWN_INLINE, filename=path.name)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
