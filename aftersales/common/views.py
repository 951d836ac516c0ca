"""Small helpers shared by the staff UI's views."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from .errors import NotFound
from .scoping import default_store


def found(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a scoped selector lookup; outside the user's scope (NotFound) the page answers 404."""
    try:
        return fn(*args, **kwargs)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


def store_from_request(request: HttpRequest) -> Any:
    """The store named by ?store= (or a posted ``store``) if the user works there, else their primary store."""
    raw = request.GET.get("store") or request.POST.get("store")
    try:
        store_id = int(raw) if raw else None
    except ValueError:
        store_id = None
    return found(default_store, request.user, store_id)
