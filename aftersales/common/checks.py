"""System checks run at start (``migrate``, ``check``, ``aftersales run``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning as CheckWarning


def public_url_check(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    """Links in SMS, WeChat and e-mail use AFTERSALES_PUBLIC_URL: unset in production they point at this machine."""
    if settings.DEBUG or getattr(settings, "AFTERSALES_PUBLIC_URL_SET", True):
        return []
    return [CheckWarning(
        f"AFTERSALES_PUBLIC_URL is not set: links in customer messages use {settings.AFTERSALES_PUBLIC_URL}, "
        "which customers' phones cannot open.",
        hint="Set AFTERSALES_PUBLIC_URL to the address customers reach the store's site at, e.g. https://service.example.cn",
        id="aftersales.W001",
    )]


def pdf_font_check(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    """Every PDF embeds the CJK font made by ``make install``; without it Chinese may not show on customers' phones."""
    from .pdf import font_file

    path = font_file()
    if path.is_file():
        return []
    return [CheckWarning(
        f"The PDF font {path} is missing: documents fall back to STSong-Light, which is not embedded, so Chinese text "
        "shows as blanks or boxes on readers without Asian fonts (most phones).",
        hint="Run `make install` (it converts Debian's fonts-noto-cjk with scripts/cjk-font.py) or set AFTERSALES_PDF_FONT "
             "to a TrueType (glyf) CJK font.",
        id="aftersales.W010",
    )]
