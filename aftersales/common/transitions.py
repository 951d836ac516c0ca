"""Explicit state machines (ARCHITECTURE habit 2).

A model declares ``TRANSITIONS = {from_state: {to_state, ...}}`` and an event model; :func:`move` is the one
function that changes state: it refuses an illegal move with a clear error and records an event row.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from .db import defer_insert
from .errors import IllegalTransition


def allowed(transitions: dict[str, set[str]], current: str, target: str) -> bool:
    return target in transitions.get(current, set())


def move(
    obj: models.Model,
    *,
    to: str,
    actor: Any,
    transitions: dict[str, set[str]],
    event_model: type[models.Model],
    event_fk: str,
    reason: str = "",
    field: str = "status",
    labels: Any = None,
    at: Any = None,
    also_save: Any = (),
) -> models.Model:
    """Move ``obj`` to state ``to``; the caller holds the transaction (and the row lock). ``also_save`` names other
    fields the caller has set on ``obj`` that are written in the same UPDATE (only when the move is legal)."""
    current = getattr(obj, field)
    if not allowed(transitions, current, to):
        def label(state: str) -> str:
            return str(labels(state).label) if labels else state

        raise IllegalTransition(
            "illegal_transition",
            _("Cannot go from “%(a)s” to “%(b)s”.") % {"a": label(current), "b": label(to)},
            field,
        )
    setattr(obj, field, to)
    obj.save(update_fields=[field, *also_save])
    # Written with the block's other event rows before COMMIT inside a service transaction (common/db.py
    # defer_insert): a caller that needs its id asks db.saved(obj.last_event).
    obj.last_event = defer_insert(event_model(  # type: ignore[attr-defined]
        **{event_fk: obj},
        from_state=current,
        to_state=to,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason,
        at=at or timezone.now(),
    ))
    return obj
