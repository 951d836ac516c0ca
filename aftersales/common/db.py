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
        outer = (depth, getattr(_state, "savepoints", None))
        _state.depth, _state.savepoints = depth + 1, len(connection.savepoint_ids)
        try:
            yield
        finally:
            _state.depth, _state.savepoints = outer
