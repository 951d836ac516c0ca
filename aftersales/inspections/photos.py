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
from PIL import Image

from aftersales.common.uploads import check_image

PHOTO_MAX_BYTES = 8 * 1024 * 1024
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@dataclass(frozen=True)
class CheckedPhoto:
    data: bytes
    content_type: str
    width: int
    height: int


def max_bytes() -> int:
    return int(getattr(settings, "INSPECTIONS_PHOTO_MAX_BYTES", PHOTO_MAX_BYTES))


def check_photo(upload: Any, field: str = "photo") -> CheckedPhoto:
    """Read and verify an uploaded file (a Django UploadedFile or bytes) with the shared image check
    (``common.uploads.check_image``): never more than the cap plus one byte is read."""
    limit = max_bytes()
    data = upload if isinstance(upload, bytes) else upload.read(limit + 1)
    checked = check_image(data, field=field, max_bytes=limit)
    return CheckedPhoto(data=checked.content, content_type=CONTENT_TYPES[checked.extension], width=checked.width,
                        height=checked.height)


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
