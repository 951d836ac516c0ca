"""Documents an e-mail carries, made when it is sent (so the outbox row stays small and a resend carries the same).

A higher app registers a maker for its message kind at start (``apps.ready``): ``register("parts.purchase_order",
fn)``, where ``fn(message)`` returns ``[(file name, bytes, MIME type), ...]`` from the message's variables. The e-mail
adapter attaches what the maker returns; a kind without a maker is sent as text alone. A lower app never imports the
app that makes the document (tests/test_layers.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Attachment = tuple[str, bytes, str]

MAKERS: dict[str, Callable[[Any], list[Attachment]]] = {}


def register(kind: str, maker: Callable[[Any], list[Attachment]]) -> None:
    MAKERS[kind] = maker


def attachments_for(message: Any) -> list[Attachment]:
    maker = MAKERS.get(message.kind)
    return list(maker(message)) if maker is not None else []
