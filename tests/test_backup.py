"""``aftersales backup`` / ``aftersales restore`` (issue 13, "Backups that restore"), on the database the suite runs
on (SQLite, or PostgreSQL with pg_dump in the PostgreSQL pass): back up, write more, restore into a fresh data
directory (another process, as an operator would) and compare every table and every uploaded file; live sessions
are left out and the secret key comes along."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from aftersales.common import crypto
from aftersales.common.backup import (
    BackupError,
    Encryption,
    backup,
    decrypt_archive,
    is_encrypted,
    make_backup_key,
    read_manifest,
    restore,
)
from aftersales.customers.models import Customer
from aftersales.messaging.models import ChannelSettings

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]
CLI = str(Path(sys.executable).parent / "aftersales")


def _rows(conn, vendor: str) -> dict[str, list[str]]:
    cur = conn.cursor()
    if vendor == "sqlite":
        cur.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
    else:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    tables = sorted(r[0] for r in cur.fetchall())
    out = {}
    for table in tables:
        cur.execute(f'SELECT * FROM "{table}"')  # noqa: S608  (names from the catalogue)
        out[table] = sorted(repr(tuple(row)) for row in cur.fetchall())
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def _pg_url(name: str) -> str:
    s = connection.settings_dict
    auth = f"{s['USER']}:{s['PASSWORD']}@" if s.get("PASSWORD") else f"{s['USER']}@"
    return f"postgres://{auth}{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def _target(tmp_path: Path) -> tuple[dict[str, str], object]:
    """The environment of a fresh install (its own data dir; on PostgreSQL an empty database) and a way to read it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER", "AFTERSALES_SECRET_KEY")}
    env["AFTERSALES_DATA_DIR"] = str(tmp_path / "fresh")
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
        return env, lambda: sqlite3.connect(str(tmp_path / "fresh" / "aftersales.sqlite3"))
    import psycopg

    s = connection.settings_dict
    name = f"{s['NAME']}_restore"
    with connection.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = _pg_url(name)
    return env, lambda: psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://"))


def test_backup_then_restore_into_a_fresh_install_gives_back_every_table_and_file(world, tmp_path, settings):
    vendor = connection.vendor
    settings.DATA_DIR = tmp_path / "data"  # its own key files (backup_recipients, encryption_keys)
    settings.DATA_DIR.mkdir()
    (settings.DATA_DIR / "secret_key").write_text("the install's secret key")
    ChannelSettings.objects.create(store=world.a, webhook_secret="whsec-in-the-backup")  # stored encrypted
    Customer.objects.create(group=world.group, name="备份前的客户", mobile="+8613800000001", mobile_digits="13800000001")
    default_storage.save("photos/before.jpg", ContentFile(b"\xff\xd8 photo taken before the backup"))
    Client().force_login(world.manager)  # a live session: left out of the archive
    if vendor == "sqlite":  # read as the restored side is read: a plain connection, no Django type converters
        plain = sqlite3.connect(str(connection.settings_dict["NAME"]))
        db_before = _rows(plain, vendor)
        plain.close()
    else:
        import psycopg

        plain = psycopg.connect(_pg_url(connection.settings_dict["NAME"]).replace("postgres://", "postgresql://"))
        db_before = _rows(plain, vendor)
        plain.close()
    files_before = _files(Path(settings.MEDIA_ROOT))
    assert db_before["django_session"] and files_before

    out = io.StringIO()
    key = tmp_path / "offsite" / "backup.key"  # the private key: kept off the machine
    call_command("backup_key", output=str(key), stdout=out)
    assert oct(key.stat().st_mode & 0o777) == "0o600" and "AGE-SECRET-KEY-1" in key.read_text()
    assert (Path(settings.DATA_DIR) / "backup_recipients").read_text().startswith("age1")
    call_command("backup", output=str(tmp_path / "archive.tar.gz.age"), stdout=out)
    archive = tmp_path / "archive.tar.gz.age"
    assert archive.is_file() and oct(archive.stat().st_mode & 0o777) == "0o600"
    assert is_encrypted(archive) and "encrypted: age public key" in out.getvalue()
    with pytest.raises(BackupError, match="not an Aftersales backup"):
        read_manifest(archive)  # nothing readable without the key
    decrypt_archive(archive, tmp_path / "plain.tar.gz", key_file=str(key))
    manifest = read_manifest(tmp_path / "plain.tar.gz")
    assert manifest["engine"] == vendor and manifest["media_files"] == len(files_before)
    assert manifest["encrypted"] == "age public key" and manifest["encryption_keys"] == "included"

    # more work after the backup: none of it may come back
    Customer.objects.create(group=world.group, name="备份后的客户", mobile="+8613800000002", mobile_digits="13800000002")
    default_storage.delete("photos/before.jpg")
    default_storage.save("photos/after.jpg", ContentFile(b"after"))

    env, reader = _target(tmp_path)
    refused = subprocess.run([CLI, "restore", str(archive)], env=env, capture_output=True, text=True, timeout=600,
                             check=False)
    assert refused.returncode != 0 and "is encrypted" in refused.stderr
    result = subprocess.run([CLI, "restore", str(archive), "--key-file", str(key)], env=env, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert "cannot be decrypted" not in result.stderr
    conn = reader()
    try:
        restored = _rows(conn, vendor)
    finally:
        conn.close()
    assert restored.pop("django_session") == []
    expected = {t: rows for t, rows in db_before.items() if t != "django_session"}
    assert restored.keys() == expected.keys()
    for table, rows in expected.items():
        assert restored[table] == rows, table
    assert _files(tmp_path / "fresh" / "media") == files_before
    secret = Path(settings.DATA_DIR) / "secret_key"
    if secret.is_file() and not os.environ.get("AFTERSALES_SECRET_KEY"):
        assert (tmp_path / "fresh" / "secret_key").read_text().strip() == secret.read_text().strip()
    # the keys of the secrets stored encrypted come along: the restored install reads them
    assert (tmp_path / "fresh" / "encryption_keys").read_text() == crypto.key_file().read_text()

    # a database with data is never overwritten by accident
    again = subprocess.run([CLI, "restore", str(archive), "--key-file", str(key)], env=env, capture_output=True,
                           text=True, timeout=600, check=False)
    assert again.returncode != 0 and "already has data" in again.stderr


def test_restore_refuses_what_is_not_a_backup_and_paths_outside_the_data_dir(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(BackupError, match="not an Aftersales backup"):
        restore(archive=junk)
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name, data in (("manifest.json", b'{"format": 1, "engine": "%s", "database": "db", "created_at": "x", '
                                               b'"media_files": 0}' % connection.vendor.encode()),
                           ("../../outside.txt", b"escape")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(tarfile.OutsideDestinationError):
        restore(archive=evil, force=True)
    assert not (Path(settings.DATA_DIR).parent / "outside.txt").exists()


def test_backups_are_encrypted_unless_told_and_a_wrong_key_or_passphrase_opens_nothing(world, tmp_path, settings,
                                                                                      monkeypatch):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    crypto.encrypt("warm")
    monkeypatch.delenv("AFTERSALES_BACKUP_PASSPHRASE", raising=False)
    monkeypatch.delenv("AFTERSALES_BACKUP_RECIPIENTS", raising=False)
    # no key and no passphrase: refused, unless --no-encrypt (which leaves the encryption keys out)
    with pytest.raises(CommandError, match="backups are encrypted"):
        call_command("backup", output=str(tmp_path / "a.tar.gz"), stdout=io.StringIO())
    call_command("backup", output=str(tmp_path / "clear.tar.gz"), no_encrypt=True, stdout=io.StringIO())
    manifest = read_manifest(tmp_path / "clear.tar.gz")
    assert manifest["encrypted"] == "no" and manifest["encryption_keys"].startswith("left out")
    with tarfile.open(tmp_path / "clear.tar.gz") as tar:
        assert "encryption_keys" not in tar.getnames() and "manifest.json" in tar.getnames()

    # a passphrase (from the environment, as a scheduled job gives it): round trip, and a wrong one is refused
    monkeypatch.setenv("AFTERSALES_BACKUP_PASSPHRASE", "correct horse battery staple")
    call_command("backup", output=str(tmp_path / "pass.tar.gz.age"), stdout=io.StringIO())
    archive = tmp_path / "pass.tar.gz.age"
    assert archive.read_bytes().startswith(b"age-encryption.org/v1")
    decrypt_archive(archive, tmp_path / "pass.tar.gz")
    assert read_manifest(tmp_path / "pass.tar.gz")["encrypted"] == "age passphrase"
    with tarfile.open(tmp_path / "pass.tar.gz") as tar:
        assert "encryption_keys" in tar.getnames()
    with pytest.raises(BackupError, match="wrong backup key or passphrase"):
        restore(archive=archive, passphrase="Tr0ub4dor&3", force=True)
    monkeypatch.delenv("AFTERSALES_BACKUP_PASSPHRASE")

    # a public key: another key pair's private key opens nothing; the database is untouched
    make_backup_key(tmp_path / "right.key")
    with pytest.raises(BackupError, match="exists already"):
        make_backup_key(tmp_path / "right.key")
    summary = backup(output=tmp_path, encryption=Encryption(recipients=(
        (settings.DATA_DIR / "backup_recipients").read_text().strip(),)))
    assert summary.path.name.endswith(".tar.gz.age") and summary.encrypted == "age public key"
    other = tmp_path / "elsewhere"
    other.mkdir()
    settings.DATA_DIR = other  # (the settings fixture restores it; monkeypatch on it would leak an override)
    make_backup_key(tmp_path / "wrong.key")
    settings.DATA_DIR = tmp_path / "data"
    customers = Customer.objects.count()
    with pytest.raises(BackupError, match="wrong backup key or passphrase"):
        restore(archive=summary.path, key_file=str(tmp_path / "wrong.key"), force=True)
    with pytest.raises(BackupError, match="is encrypted"):
        restore(archive=summary.path, force=True)
    assert Customer.objects.count() == customers
    decrypt_archive(summary.path, tmp_path / "right.tar.gz", key_file=str(tmp_path / "right.key"))
    assert read_manifest(tmp_path / "right.tar.gz")["engine"] == connection.vendor
