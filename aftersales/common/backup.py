"""``aftersales backup`` and ``aftersales restore`` (issue 13, "Backups that restore"; docs/security.md).

One archive (``.tar.gz``) holds everything a store needs to come back after losing its machine:

- the database: SQLite through its online backup API (a consistent copy while the app keeps running), PostgreSQL
  through ``pg_dump --format=custom``; live sessions are left out (nobody is signed in after a restore);
- the uploads (``MEDIA_ROOT``: photos, signatures, imports);
- the secret key of the data directory, without which every signed link already sent to customers stops working
  (when the key comes from ``AFTERSALES_SECRET_KEY`` instead, the archive says so and keeps it out);
- ``manifest.json``: format, engine, when, what is inside (file count and bytes).

``restore`` puts an archive back into the current data directory and database (the same engine only), refusing to
overwrite a database that already has data unless ``--force``. Extraction uses tarfile's ``data`` filter, so an archive
can never write outside the data directory.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections

FORMAT = 1
SESSION_TABLE = "django_session"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class Summary:
    path: Path
    engine: str
    files: int
    bytes: int


def engine() -> str:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    return vendor


def _pg_env_and_args() -> tuple[dict[str, str], list[str]]:
    s = connection.settings_dict
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    args = []
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if s.get(key):
            args += [flag, str(s[key])]
    return env, args


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: install PostgreSQL's client tools (Debian: postgresql-client)")
    return path


def _dump_sqlite(target: Path) -> None:
    source = sqlite3.connect(str(connection.settings_dict["NAME"]))
    dest = sqlite3.connect(str(target))
    try:
        source.backup(dest)  # the online backup API: a consistent snapshot while others keep writing
        dest.execute("PRAGMA journal_mode=DELETE")
        dest.execute("PRAGMA secure_delete=ON")  # the sessions' pages are zeroed, not just freed
        dest.execute(f"DELETE FROM {SESSION_TABLE}")  # noqa: S608  (a constant table name)
        dest.commit()
    finally:
        dest.close()
        source.close()


def _dump_postgresql(target: Path) -> None:
    env, args = _pg_env_and_args()
    cmd = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
           f"--exclude-table-data={SESSION_TABLE}", "--file", str(target), *args, str(connection.settings_dict["NAME"])]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


def _media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file())


def default_name(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"aftersales-backup-{now:%Y%m%d-%H%M%S}.tar.gz"


def backup(*, output: Path) -> Summary:
    """Write the archive to ``output`` (a directory: a dated file name inside it). Returns what was written."""
    kind = engine()
    output = Path(output)
    if output.is_dir():
        output = output / default_name()
    output.parent.mkdir(parents=True, exist_ok=True)
    media_root = Path(settings.MEDIA_ROOT)
    key_file = Path(settings.DATA_DIR) / "secret_key"
    key_from_env = bool(os.environ.get("AFTERSALES_SECRET_KEY"))
    with tempfile.TemporaryDirectory(prefix="aftersales-backup-") as tmp:
        db_name = "database.sqlite3" if kind == "sqlite" else "database.pgdump"
        db_path = Path(tmp) / db_name
        (_dump_sqlite if kind == "sqlite" else _dump_postgresql)(db_path)
        files = _media_files()
        manifest: dict[str, Any] = {
            "format": FORMAT, "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "engine": kind,
            "database": db_name, "media_files": len(files), "media_bytes": sum(p.stat().st_size for p in files),
            "secret_key": "environment" if key_from_env else ("included" if key_file.is_file() else "none"),
            "sessions": "left out",
        }
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime, info.mode = len(data), int(dt.datetime.now(dt.UTC).timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(db_path, arcname=db_name)
            for path in files:
                tar.add(path, arcname=f"media/{path.relative_to(media_root).as_posix()}")
            if manifest["secret_key"] == "included":  # noqa: S105  (a status word, not a password)
                tar.add(key_file, arcname="secret_key")
        partial.chmod(0o600)  # the archive holds personal data and the secret key
        os.replace(partial, output)
    return Summary(path=output, engine=kind, files=len(files), bytes=output.stat().st_size)


def _has_data() -> bool:
    return "django_migrations" in connection.introspection.table_names()


def _restore_sqlite(source: Path) -> None:
    target = Path(str(connection.settings_dict["NAME"]))
    connections.close_all()
    src = sqlite3.connect(str(source))
    dest = sqlite3.connect(str(target))
    try:
        src.backup(dest)  # replaces every page of the target, WAL included
    finally:
        dest.close()
        src.close()


def _restore_postgresql(source: Path) -> None:
    env, args = _pg_env_and_args()
    connections.close_all()
    cmd = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
           "--exit-on-error", *args, "--dbname", str(connection.settings_dict["NAME"]), str(source)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            manifest: dict[str, Any] = json.loads(member.read())
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"{archive} is not an Aftersales backup ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} has backup format {manifest.get('format')}; this version reads {FORMAT}")
    return manifest


def restore(*, archive: Path, force: bool = False) -> dict[str, Any]:
    """Put ``archive`` back into this data directory and database. Returns the archive's manifest."""
    archive = Path(archive)
    manifest = read_manifest(archive)
    kind = engine()
    if manifest["engine"] != kind:
        raise BackupError(f"the archive holds a {manifest['engine']} database and this install uses {kind}: "
                          "restore it on the same kind of database")
    if _has_data() and not force:
        raise BackupError("this database already has data: restore into a fresh install, or pass --force to replace it")
    key_file = Path(settings.DATA_DIR) / "secret_key"
    with tempfile.TemporaryDirectory(prefix="aftersales-restore-", dir=settings.DATA_DIR) as tmp:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(tmp, filter="data")  # never outside tmp, no devices or links out
        root = Path(tmp)
        (_restore_sqlite if kind == "sqlite" else _restore_postgresql)(root / manifest["database"])
        media_root = Path(settings.MEDIA_ROOT)
        if media_root.exists():
            shutil.rmtree(media_root)
        if (root / "media").is_dir():
            shutil.copytree(root / "media", media_root)
        else:
            media_root.mkdir(parents=True, exist_ok=True)
        if (root / "secret_key").is_file():
            key_file.write_text((root / "secret_key").read_text())
            key_file.chmod(0o600)
    return manifest
