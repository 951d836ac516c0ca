"""Links the customer's status page (the signed link in their messages) shows once the documents exist: the
inspection report, the invoice (issue 14, item 4). The apps that make those documents register a provider at start
(``apps.ready``); the status page (estimates) asks here, so no lane app imports another for it."""

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
