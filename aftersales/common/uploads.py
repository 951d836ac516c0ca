"""Checking uploaded images (photos, signatures) before anything is stored: type, size, dimensions; photos are
stored upright and without their EXIF metadata (no GPS position leaves the shop)."""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from .errors import ValidationFailed

# Formats a phone or tablet camera produces that every browser can show back.
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


@dataclass(frozen=True)
class CheckedImage:
    content: bytes
    extension: str
    width: int
    height: int


def _limit_mb(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"


def probe_image(content: bytes) -> tuple[str, int, int] | None:
    """(Pillow's format name, width, height) when the bytes are an image Pillow can verify, else None. The pixels are
    not decoded here (a caller that needs them checks the size first); every upload check starts from this."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as probe:
            kind = probe.format or ""
            probe.verify()
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return kind, width, height


def without_metadata(content: bytes) -> tuple[bytes, int, int]:
    """The photo as the customer should get it: turned upright by its EXIF orientation, then written again without
    EXIF (GPS position, phone model, time), XMP or text chunks, so a technician's photo never tells where the phone
    was. The colour profile is kept. Returns (bytes, width, height); GIF (and anything that fails) comes back as is.
    The caller has checked the bytes are an image of a sane size (``check_image`` / ``probe_image``)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            kind = image.format
            if kind not in IMAGE_FORMATS:
                return content, image.width, image.height
            upright = ImageOps.exif_transpose(image)
            icc = image.info.get("icc_profile")
            out = io.BytesIO()
            options: dict[str, object] = {"icc_profile": icc} if icc else {}
            if kind == "JPEG":
                if upright.mode not in ("RGB", "L", "CMYK"):
                    upright = upright.convert("RGB")
                upright.save(out, format="JPEG", quality=90, optimize=True, **options)
            elif kind == "WEBP":
                upright.save(out, format="WEBP", quality=90, **options)
            else:
                upright.save(out, format="PNG", optimize=True, **options)
            return out.getvalue(), upright.width, upright.height
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return content, 0, 0


def check_image(
    content: bytes, *, field: str, max_bytes: int | None = None, formats: dict[str, str] | None = None, clean: bool = True
) -> CheckedImage:
    """The bytes are an image of an accepted format within the size cap, or a ValidationFailed naming ``field``."""
    from PIL import Image, UnidentifiedImageError

    limit = max_bytes or int(getattr(settings, "AFTERSALES_MAX_PHOTO_BYTES", 8 * 1024 * 1024))
    formats = formats or IMAGE_FORMATS
    if not content:
        raise ValidationFailed("file_empty", _("The file is empty."), field)
    if len(content) > limit:
        raise ValidationFailed(
            "file_too_large", _("The file is larger than %(mb)s MB.") % {"mb": _limit_mb(limit)}, field
        )
    not_an_image = ValidationFailed("not_an_image", _("Only photos (JPEG, PNG or WebP) can be uploaded."), field)
    probed = probe_image(content)
    if probed is None:
        raise not_an_image
    kind, width, height = probed
    if width * height > 50_000_000:
        raise ValidationFailed("image_too_large", _("The image has too many pixels."), field)
    try:  # decode the pixels once: a truncated file verifies but does not load
        with Image.open(io.BytesIO(content)) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise not_an_image from exc
    if kind not in formats:
        raise not_an_image
    if clean:  # upright, no EXIF/GPS (see without_metadata)
        content, width, height = without_metadata(content)
    return CheckedImage(content=content, extension=formats[kind], width=width, height=height)


def decode_data_url(value: str, *, field: str, mime: str = "image/png") -> bytes:
    """The bytes of a ``data:image/png;base64,...`` URL (what a signature canvas posts)."""
    prefix = f"data:{mime};base64,"
    if not isinstance(value, str) or not value.startswith(prefix):
        raise ValidationFailed("signature_format", _("The signature could not be read; please sign again."), field)
    try:
        return base64.b64decode(value[len(prefix):], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed("signature_format", _("The signature could not be read; please sign again."), field) from exc


def ink_ratio(content: bytes) -> float:
    """Share of pixels with ink (dark and not transparent): an empty canvas has none."""
    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        rgba = image.convert("RGBA")
        small = rgba.resize((max(1, rgba.width // 4), max(1, rgba.height // 4)))
        raw = small.tobytes()
    count = len(raw) // 4
    inked = sum(1 for i in range(0, len(raw), 4) if raw[i + 3] > 64 and raw[i] + raw[i + 1] + raw[i + 2] < 384)
    return inked / max(1, count)
