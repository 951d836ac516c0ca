"""``service_atomic()``: a service's transaction without a SAVEPOINT when another service already holds one (issue 19).

A service called on its own (by a view, the API, a task, a test) opens its transaction as ever (a savepoint when it
runs inside someone else's ``atomic()``, e.g. a test's). A service called by **another service** inside that one's
``service_atomic()`` joins the caller's transaction: no SAVEPOINT/RELEASE pair (the lane ran 34 such pairs per repair
order that caught nothing). A refusal raised inside then rolls back the caller's whole transaction, which is what every
service caller does with it: it lets it propagate. Code that catches a nested service's refusal and carries on must
wrap that call in its own ``transaction.atomic()`` (a real savepoint), as ``inspections`` does for pricing from the
labour guide; blocks that guard an ``IntegrityError`` keep their own ``transaction.atomic()`` too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

_state = threading.local()


@contextmanager
def service_atomic() -> Iterator[None]:
    depth = getattr(_state, "depth", 0)
    connection = transaction.get_connection()
    # Nested in another service's block on the same connection: join it. A raw atomic() opened in between (a caller
    # that catches) resets the count, so that the block under it gets its own savepoint again.
    join = depth > 0 and connection.in_atomic_block and getattr(_state, "savepoints", None) == len(connection.savepoint_ids)
    with transaction.atomic(savepoint=not join):
        outer = (depth, getattr(_state, "savepoints", None), getattr(_state, "token", None))
        _state.depth, _state.savepoints = depth + 1, len(connection.savepoint_ids)
        if not join:  # a transaction (or savepoint) of its own: rows locked outside it are re-read inside
            _state.token = object()
        try:
            yield
        finally:
            _state.depth, _state.savepoints, _state.token = outer


def hold(obj: Any) -> Any:
    """Mark ``obj`` (just read with SELECT … FOR UPDATE) as locked in the current service transaction, so that nested
    services given this very object use it instead of locking and reading the row again (issue 19: the order row was
    read 37 times per repair order). Whoever holds it changes it only through ``save()`` (never a queryset update
    behind its back), so the object stays the row's current state until the transaction ends."""
    token = getattr(_state, "token", None)
    if token is not None and obj is not None:
        obj._held_lock = token
    return obj


def held(obj: Any, *relations: str) -> bool:
    """True when ``obj`` was locked by :func:`hold` in this same transaction (not outside a savepoint opened since),
    with ``relations`` already loaded (else using it would lazy-load them: no gain)."""
    token = getattr(_state, "token", None)
    if token is None or obj is None or getattr(obj, "_held_lock", None) is not token:
        return False
    cache = obj._state.fields_cache
    return all(name in cache for name in relations)
