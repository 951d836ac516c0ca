"""Photos are stored upright and without their EXIF metadata: no GPS position or phone details leave the shop."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from aftersales.common.errors import ValidationFailed
from aftersales.common.uploads import check_image, without_metadata


def phone_photo(fmt: str = "JPEG", size: tuple[int, int] = (40, 20), orientation: int = 6) -> bytes:
    """What a phone camera writes: a landscape sensor image, EXIF orientation, maker and a GPS position."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.putpixel((0, 0), (0, 0, 255))  # a blue corner to check the turn
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 14.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (121.0, 28.0, 0.0)
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif)
    return out.getvalue()


def has_metadata(content: bytes) -> bool:
    with Image.open(io.BytesIO(content)) as image:
        exif = image.getexif()
        return bool(dict(exif)) or bool(exif.get_ifd(ExifTags.IFD.GPSInfo)) or b"PhoneMaker" in content


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_metadata_is_dropped_and_the_photo_turned_upright(fmt):
    original = phone_photo(fmt)
    assert has_metadata(original)
    cleaned, width, height = without_metadata(original)
    assert not has_metadata(cleaned)
    assert (width, height) == (20, 40)  # orientation 6: the landscape sensor image is a portrait photo
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.format == fmt and image.size == (20, 40)


def test_a_photo_without_metadata_keeps_its_size_and_colour():
    out = io.BytesIO()
    Image.new("RGB", (30, 10), (10, 200, 10)).save(out, format="PNG")
    cleaned, width, height = without_metadata(out.getvalue())
    with Image.open(io.BytesIO(cleaned)) as image:
        assert (width, height) == image.size == (30, 10)
        assert image.convert("RGB").getpixel((5, 5)) == (10, 200, 10)


def test_check_image_returns_the_clean_photo_and_keeps_refusing_bad_files():
    checked = check_image(phone_photo(), field="photo")
    assert not has_metadata(checked.content) and (checked.width, checked.height) == (20, 40)
    assert checked.extension == "jpg"
    kept = check_image(phone_photo("PNG"), field="signature", formats={"PNG": "png"}, clean=False)
    assert has_metadata(kept.content)  # a signature canvas is stored as drawn
    with pytest.raises(ValidationFailed) as exc:
        check_image(b"not an image", field="photo")
    assert (exc.value.code, exc.value.field) == ("not_an_image", "photo")
