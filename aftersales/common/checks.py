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
