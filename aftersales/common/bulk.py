"""Set-based writes that Django's ORM makes slow for a thousand rows.

``QuerySet.bulk_update`` builds a ``CASE WHEN pk = … THEN …`` expression per field and row in Python, which for a
thousand rows costs more than the statement itself; :func:`update_rows` sends the new values as a VALUES list
(``UPDATE … FROM (VALUES …)``, PostgreSQL and SQLite ≥ 3.33) in one statement per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """``UPDATE`` each row of ``model`` named by its primary key: ``rows`` are ``(pk, value of fields[0], …)``.
    Values go through each field's database preparation (and a cast to its column type). Returns rows updated."""
    if not rows:
        return 0
    meta = model._meta
    targets: list[models.Field[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        assert isinstance(field, models.Field)  # a concrete column, not a reverse relation
        targets.append(field)
    pk = meta.pk
    assert pk is not None
    width = len(targets) + 1
    limit = connection.features.max_query_params  # None: no limit (PostgreSQL)
    per = len(rows) if not limit else max(1, limit // width)
    sets = ", ".join(
        f"{connection.ops.quote_name(str(f.column))} = CAST(v.column{i + 2} AS {f.db_type(connection)})" for i, f in enumerate(targets)
    )
    table, key = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(str(pk.column))
    done = 0
    with connection.cursor() as cur:
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            params: list[Any] = []
            for row in chunk:
                params.append(row[0])
                params += [f.get_db_prep_value(value, connection) for f, value in zip(targets, row[1:], strict=True)]
            values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
            cur.execute(
                f"UPDATE {table} SET {sets} FROM (VALUES {values}) AS v WHERE {table}.{key} = v.column1",  # noqa: S608 (names from the model)
                params,
            )
            done += max(cur.rowcount, 0)
    return done
