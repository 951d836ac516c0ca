"""The masked call (隐私号): the driver and the owner reach each other without seeing each other's numbers.

A call-through provider binds the driver's phone (A) and the owner's mobile (B) to a middle number (X) for a few
hours; either side dials X. The provider is reached over HTTP at ``AFTERSALES_CALL_RELAY_URL`` (POST ``/bind``
with JSON ``{"a", "b", "ref", "expires_in"}``, answer ``{"x": "+86…"}``). Without a provider, or when it fails, the
driver calls the store's number and the desk puts the call through: the owner's full mobile is never shown."""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

from django.conf import settings

BIND_SECONDS = 4 * 3600
TIMEOUT = 5


def relay_url() -> str:
    return str(getattr(settings, "AFTERSALES_CALL_RELAY_URL", "") or os.environ.get("AFTERSALES_CALL_RELAY_URL", ""))


def call_number(trip: Any, driver: Any) -> tuple[str, bool]:
    """(number to dial, True when it is a masked middle number; False: the store's number)."""
    base = relay_url()
    fallback = trip.store.phone or ""
    if not base or not getattr(driver, "phone", "") or not trip.customer.mobile:
        return fallback, False
    body = json.dumps({"a": driver.phone, "b": trip.customer.mobile, "ref": f"trip-{trip.pk}",
                       "expires_in": BIND_SECONDS}).encode()
    request = urllib.request.Request(f"{base.rstrip('/')}/bind", data=body, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (configured https URL)
            number = str(json.loads(response.read() or b"{}").get("x") or "")
    except (OSError, ValueError):
        return fallback, False
    return (number, True) if number else (fallback, False)
