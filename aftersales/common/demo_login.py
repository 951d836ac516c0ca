"""The demo accounts' published password works from this machine only (issue 13, item 2).

A demo account (``User.is_demo``, set by the demo loader) that signs in with the published demo password from any
address other than loopback is refused: a demo install reachable from the network must not open with a password
printed in the README. From 127.0.0.1 / ::1 the demo works as before (evaluation, browser tests).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.utils.translation import gettext as _

from .throttle import client_ip

DEMO_PASSWORD = "demo1234"  # noqa: S105  (the published password of the demo accounts)
REFUSED_ATTR = "demo_login_refused"


def demo_marker() -> Any:
    """The file that says this install carries the demo data (and its published passwords)."""
    from django.conf import settings

    return settings.DATA_DIR / "demo-install"


def mark_demo_install() -> None:
    demo_marker().parent.mkdir(parents=True, exist_ok=True)
    demo_marker().touch()


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return bool((mapped or ip).is_loopback)


def demo_login_allowed(request: Any, user: Any, password: str | None) -> bool:
    """False for a demo account using the demo password from another machine (the caller refuses the sign-in)."""
    if not getattr(user, "is_demo", False) or password != DEMO_PASSWORD:
        return True
    return request is not None and is_loopback(client_ip(request))


def refused_message() -> str:
    return _(
        "Demo accounts with the demo password can only sign in on the server itself (localhost). To use this "
        "install from other computers, run “aftersales setup” to create your own administrator, or give this "
        "account a real password."
    )
