"""Helpers shared by the SMS and WeChat provider adapters (Aliyun, Tencent, WeChat)."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

from django.db import connection

#: (store, kind, channel, language, provider code) → variable names in order of appearance, with the time read
_TEMPLATE_CACHE: dict[tuple[Any, ...], tuple[float, list[str]]] = {}
_TEMPLATE_TTL = 60.0
_lock = threading.Lock()


def clear_template_cache() -> None:
    with _lock:
        _TEMPLATE_CACHE.clear()


def template_variables(message: Any) -> list[str]:
    """The variables the message's template uses, in order of first appearance (the provider's parameter order).

    Read from the store's / group's template or the kind's built-in text (``services.template_for``) and cached for
    a minute per process. Adapters run in the dispatcher's sending threads: a thread that had to open a database
    connection for this closes it again, so no connection outlives the sending pool.
    """
    from aftersales.messaging.kinds import KINDS
    from aftersales.messaging.rendering import placeholders
    from aftersales.messaging.services import template_for

    key = (message.store_id, message.kind, message.channel, message.language, message.provider_template_code)
    now = time.monotonic()
    with _lock:
        cached = _TEMPLATE_CACHE.get(key)
    if cached and now - cached[0] < _TEMPLATE_TTL:
        return cached[1]
    kind = KINDS.get(message.kind)
    if kind is None:
        names = list(message.variables)
    else:
        try:
            _subject, body, _code = template_for(
                store=message.store, kind=kind, channel=message.channel, language=message.language
            )
        finally:
            if threading.current_thread() is not threading.main_thread() and not connection.in_atomic_block:
                connection.close()
        names = placeholders(body)
    with _lock:
        _TEMPLATE_CACHE[key] = (now, names)
    return names


def template_values(message: Any) -> list[tuple[str, str]]:
    """(name, value as text) for each variable the template uses, in order; a missing value is sent empty."""
    variables = message.variables or {}
    return [(name, "" if variables.get(name) is None else str(variables.get(name))) for name in template_variables(message)]


def endpoint_parts(override: str, default_host: str) -> tuple[str, str]:
    """(protocol, host[:port]) from an endpoint override such as ``http://127.0.0.1:8081`` (or a bare host)."""
    override = (override or "").strip()
    if not override:
        return "https", default_host
    if "://" not in override:
        return "https", override.rstrip("/")
    parts = urlsplit(override)
    return parts.scheme.lower() or "https", parts.netloc


def looks_unsent(error_text: str) -> bool:
    """A network error from before the request reached the provider (nothing can have been sent)."""
    text = error_text.lower()
    return any(
        marker in text
        for marker in ("connection refused", "newconnectionerror", "connecttimeout", "name or service not known",
                       "failed to resolve", "nodename nor servname", "no route to host", "network is unreachable")
    )
