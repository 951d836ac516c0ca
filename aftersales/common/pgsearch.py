"""Search indexes that only PostgreSQL has (pg_trgm); SQLite gets nothing and searches by scanning."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def trigram_indexes(*statements: tuple[str, str]) -> migrations.RunPython:
    """A migration operation creating (name, 'table USING gin (expr gin_trgm_ops)')-style indexes on PostgreSQL."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, definition in statements:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, _definition in statements:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(forwards, backwards, elidable=False)
