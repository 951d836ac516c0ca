from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def demo_install(request: HttpRequest) -> dict[str, Any]:
    """Whether this install carries the demo data: every page then says so (a file check, no query)."""
    from .demo_login import demo_marker

    return {"demo_install": demo_marker().exists()}
