"""Uploaded files are private (common/media.py): a page that shows a photo or a signature gives it a signed address
that loads; the same address tampered with, without its signature, for another file, past its time or climbing out
of the media folder is a 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_signed_address_loads_and_nothing_else_does(settings, clock, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    name = default_storage.save("reception/1/photos/a.jpg", ContentFile(b"\xff\xd8\xff\xe0jpeg"))
    other = default_storage.save("reception/2/photos/b.jpg", ContentFile(b"\xff\xd8\xff\xe0other"))
    url = default_storage.url(name)
    assert url.startswith("/media/reception/1/photos/") and "?s=" in url
    got = Client().get(url)
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    assert b"".join(got.streaming_content) == b"\xff\xd8\xff\xe0jpeg"
    assert got["X-Content-Type-Options"] == "nosniff" and "private" in got["Cache-Control"]
    path, token = url.split("?s=")
    assert Client().get(path).status_code == 404  # no signature
    assert Client().get(f"{path}?s={token[:-2]}xx").status_code == 404  # tampered
    assert Client().get(f"/media/{other}?s={token}").status_code == 404  # another file's
    assert Client().get(f"/media/reception/1/../../../settings.py?s={token}").status_code == 404
    assert Client().post(url).status_code == 405
    clock((dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.MEDIA_LINK_SECONDS + 5)).isoformat())
    assert Client().get(url).status_code == 404  # past its time
    fresh = default_storage.url(name)
    assert Client().get(fresh).status_code == 200


def test_a_text_file_is_downloaded_never_shown_inline(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    name = default_storage.save("people/certificates/1/x.html", ContentFile(b"<script>alert(1)</script>"))
    got = Client().get(default_storage.url(name))
    assert got.status_code == 200 and got["Content-Disposition"].startswith("attachment")
    assert "sandbox" in got["Content-Security-Policy"]

