"""Counting attempts per client so that a public form or the login page cannot be hammered.

Fixed windows in Django's cache (``caches["default"]``): Redis when ``AFTERSALES_CACHE_URL`` is set (a dealer group
with several web processes and machines), else a file cache in the data directory shared by the processes of one
machine. A lost counter only means a few more attempts are let through; nothing else depends on it.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.utils.translation import gettext as _

from .errors import DomainError


class TooManyRequests(DomainError):
    status = 429


# Every credential check (the sign-in page, the admin site's sign-in, API tokens) shares these limits and counters.
LOGIN_WINDOW = 15 * 60
LOGIN_FAILURES_PER_ACCOUNT = 10  # per address and username in the window
LOGIN_FAILURES_PER_ADDRESS = 50  # per address, whatever the username (password spraying, token guessing)


def client_ip(request: Any) -> str:
    """The caller's address: REMOTE_ADDR, or the header a trusted reverse proxy sets (AFTERSALES_PROXY_IP_HEADER,
    e.g. ``HTTP_X_REAL_IP``) when the deployment says there is one; never a header the client could forge."""
    header = getattr(settings, "AFTERSALES_PROXY_IP_HEADER", "")
    value = request.META.get(header, "") if header else ""
    return (value.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "")) or "unknown"


def _key(scope: str, ident: str, window: int, now: float) -> tuple[str, float]:
    slot = int(now // window)
    digest = hashlib.sha256(f"{scope}|{ident}".encode()).hexdigest()[:32]
    return f"throttle:{scope}:{digest}:{slot}", (slot + 1) * window - now


def count(scope: str, ident: str, *, window: int, now: float | None = None) -> int:
    """Attempts counted in the current window."""
    key, _left = _key(scope, ident, window, now if now is not None else time.time())
    return int(caches["default"].get(key, 0))


def record(scope: str, ident: str, *, window: int, now: float | None = None) -> int:
    """Count one attempt; returns the count in the current window."""
    key, left = _key(scope, ident, window, now if now is not None else time.time())
    cache = caches["default"]
    cache.add(key, 0, timeout=max(1, math.ceil(left)) + 1)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=max(1, math.ceil(left)) + 1)
        return 1


def retry_after(window: int, now: float | None = None) -> int:
    now = now if now is not None else time.time()
    return max(1, math.ceil((int(now // window) + 1) * window - now))


def check(scope: str, ident: str, *, limit: int, window: int, field: str | None = None, now: float | None = None) -> None:
    """Refuse (429, with the minutes to wait) once ``limit`` attempts were counted in the window."""
    if count(scope, ident, window=window, now=now) >= limit:
        wait = retry_after(window, now)
        raise TooManyRequests(
            "too_many_attempts",
            _("Too many attempts. Please try again in %(minutes)s minutes.") % {"minutes": max(1, math.ceil(wait / 60))},
            field, retry_after=wait,
        )
