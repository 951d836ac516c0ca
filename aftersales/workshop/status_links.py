"""Links the customer's status page (the signed link in their messages) shows once the documents exist: the
inspection report, the invoice (issue 14, item 4). The apps that make those documents register a provider at start
(``apps.ready``); the status page (estimates) asks here, so no lane app imports another for it. The page itself is
estimates' (its signed link): estimates provides the link (``provide_status_url``) and workshop's progress messages
ask here for it (issue 19: workshop does not import estimates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: provider(order, language) → [(label, url), ...] (empty while the document does not exist)
PROVIDERS: list[Callable[[Any, str], list[tuple[str, str]]]] = []


def register(provider: Callable[[Any, str], list[tuple[str, str]]]) -> None:
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def status_links(order: Any, language: str) -> list[tuple[str, str]]:
    return [link for provider in PROVIDERS for link in provider(order, language)]


#: the status page's signed link of an order (estimates.services.status_url), provided by estimates at start
_STATUS_URL: list[Callable[[Any], str]] = []


def provide_status_url(provider: Callable[[Any], str]) -> None:
    _STATUS_URL[:] = [provider]


def status_url(order: Any) -> str:
    """The link to the order's status page ("" when no app provides the page)."""
    return _STATUS_URL[0](order) if _STATUS_URL else ""
