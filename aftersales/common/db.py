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
from typing import Any, TypeVar

from django.db import models, transaction

_state = threading.local()
M = TypeVar("M", bound=models.Model)


class _Buffer:
    """The rows a service transaction (or savepoint) has yet to insert, per model, in the order they were made."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.rows: dict[type[models.Model], list[models.Model]] = {}
        self.tables: tuple[str, ...] = ()
        self.watching = False
        self.flushing = False

    def add(self, obj: models.Model) -> None:
        model = type(obj)
        if model not in self.rows:
            self.rows[model] = []
            self.tables = tuple(m._meta.db_table for m in self.rows)
        self.rows[model].append(obj)
        if not self.watching:
            self.connection.execute_wrappers.append(self.watch)
            self.watching = True

    def watch(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Anything touching a buffered table (a read, an update, a cascade) first sees the rows written; so does a
        # savepoint (rows written inside one that is rolled back later would be lost with it).
        if not self.flushing and (sql.startswith("SAVEPOINT") or any(table in sql for table in self.tables)):
            self.flush()
        return execute(sql, params, many, context)

    def flush(self, model: type[models.Model] | None = None) -> None:
        self.flushing = True
        try:
            for each in [model] if model is not None else list(self.rows):
                rows = self.rows.get(each)
                if rows:
                    self.rows[each] = []
                    each._default_manager.bulk_create(rows)
        finally:
            self.flushing = False

    def close(self) -> None:
        if self.watching:
            self.connection.execute_wrappers.remove(self.watch)
            self.watching = False
        self.rows = {}


@contextmanager
def service_atomic() -> Iterator[None]:
    depth = getattr(_state, "depth", 0)
    connection = transaction.get_connection()
    # Nested in another service's block on the same connection: join it. A raw atomic() opened in between (a caller
    # that catches) resets the count, so that the block under it gets its own savepoint again.
    join = depth > 0 and connection.in_atomic_block and getattr(_state, "savepoints", None) == len(connection.savepoint_ids)
    outer_buffer: _Buffer | None = getattr(_state, "buffer", None)
    with transaction.atomic(savepoint=not join):
        outer = (depth, getattr(_state, "savepoints", None), getattr(_state, "token", None), outer_buffer)
        _state.depth, _state.savepoints = depth + 1, len(connection.savepoint_ids)
        own: _Buffer | None = None
        if not join:  # a transaction (or savepoint) of its own: rows locked outside it are re-read inside
            _state.token = object()
            own = _state.buffer = _Buffer(connection)
        try:
            yield
            if own is not None:
                own.flush()  # one INSERT per table, before COMMIT / RELEASE
        finally:
            if own is not None:
                own.close()  # written above, or dropped with a refused block's other writes
            _state.depth, _state.savepoints, _state.token, _state.buffer = outer


def defer_insert(obj: M) -> M:
    """Insert ``obj`` (a new row nobody reads back within the request: an audit row, a state-machine event) with the
    other rows of its table at the end of the current service transaction; at once outside one, or inside a savepoint
    opened since (which could roll back without the service's block). Its ``pk`` is None until then: see
    :func:`saved`."""
    buffer: _Buffer | None = getattr(_state, "buffer", None)
    connection = transaction.get_connection()
    if (buffer is None or buffer.connection is not connection or not connection.in_atomic_block
            or getattr(_state, "savepoints", None) != len(connection.savepoint_ids)):
        obj.save(force_insert=True)
    else:
        buffer.add(obj)
    return obj


def saved(obj: Any) -> Any:
    """``obj`` with its ``pk``: writes its table's buffered rows now if it is one of them."""
    if obj is not None and obj.pk is None:
        buffer: _Buffer | None = getattr(_state, "buffer", None)
        if buffer is not None and obj in buffer.rows.get(type(obj), ()):
            buffer.flush(type(obj))
    return obj


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


def refreshed(obj: M) -> M:
    """``refresh_from_db()`` in one query that keeps the related objects already loaded (a customer, a vehicle) when
    their id did not change: a response built after a service re-reads the row, not everything hanging off it."""
    model = type(obj)
    fields = list(model._meta.concrete_fields)
    row = model._base_manager.filter(pk=obj.pk).values(*[f.attname for f in fields]).get()
    for field in fields:
        value = row[field.attname]
        if field.is_relation and field.is_cached(obj) and getattr(obj, field.attname) != value:  # type: ignore[attr-defined]
            field.delete_cached_value(obj)  # type: ignore[attr-defined]
        setattr(obj, field.attname, value)
    if hasattr(obj, "_prefetched_objects_cache"):
        obj._prefetched_objects_cache = {}
    return obj
