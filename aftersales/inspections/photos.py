"""Photo uploads: images only (JPEG, PNG, WebP), at most PHOTO_MAX_BYTES, checked by decoding them with Pillow.

The file is kept as uploaded (no re-encoding, so evidence stays original) and stored through Django's default
storage (the file system today, S3-compatible storage with django-storages later); pages serve it through a view
that checks who may see it, never from a public media URL.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from aftersales.common.errors import ValidationFailed

PHOTO_MAX_BYTES = 8 * 1024 * 1024
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 50_000_000  # a decompression bomb is refused before it is decoded


@dataclass(frozen=True)
class CheckedPhoto:
    data: bytes
    content_type: str
    width: int
    height: int


def max_bytes() -> int:
    return int(getattr(settings, "INSPECTIONS_PHOTO_MAX_BYTES", PHOTO_MAX_BYTES))


def check_photo(upload: Any, field: str = "photo") -> CheckedPhoto:
    """Read and verify an uploaded file (a Django UploadedFile or bytes); refuse anything that is not a real image."""
    limit = max_bytes()
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise _too_big(limit, field)
    data = upload if isinstance(upload, bytes) else upload.read(limit + 1)
    if len(data) > limit:
        raise _too_big(limit, field)
    if not data:
        raise ValidationFailed("photo_empty", _("The file is empty. Choose a photo."), field)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise ValidationFailed("photo_too_large", _("The photo has too many pixels."), field)
            probe.verify()  # structure check
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decodes the pixels: a truncated or corrupt file fails here
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _not_image(field) from exc
    if fmt not in FORMATS:
        raise _not_image(field)
    return CheckedPhoto(data=data, content_type=FORMATS[fmt], width=width, height=height)


def _too_big(limit: int, field: str) -> ValidationFailed:
    return ValidationFailed(
        "photo_too_big", _("The photo is larger than %(mb)s MB. Take it again at a lower resolution.") % {"mb": limit // (1024 * 1024)},
        field,
    )


def _not_image(field: str) -> ValidationFailed:
    return ValidationFailed("photo_not_image", _("Only photos can be uploaded (JPEG, PNG or WebP)."), field)


def thumbnail(data: bytes, size: int = 900) -> bytes:
    """A JPEG no wider or taller than ``size`` pixels (for the PDF report)."""
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=80)
        return out.getvalue()


def tiny_png(colour: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (64, 48)) -> bytes:
    """A small generated PNG (demo data and tests)."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()
