"""Secrets encrypted at rest (issue 13, item 9; docs/security.md "What is encrypted").

Provider credentials that the app must use again (SMS access key secrets, the WeChat app secret, the webhook signing
secret, the payment merchants' private keys and APIv3 keys) are stored as Fernet tokens (``cryptography``: AES-128-CBC
with an HMAC-SHA256, a well-kept library, no home-made crypto) in ``EncryptedTextField`` columns. A copy of the
database, or a backup of it, holds only ciphertext: the key is needed too.

The keys, newest first:
- ``AFTERSALES_ENCRYPTION_KEYS`` (comma-separated Fernet keys) when set, so that the keys can live with the other
  secrets of a deployment; otherwise
- the data directory's ``encryption_keys`` file (one key a line, mode 0600), made with one fresh key on first use,
  beside ``secret_key``.

The first key encrypts; every key decrypts (``MultiFernet``), so ``aftersales rotate-encryption-key`` can put a new
key first, re-encrypt every stored secret with it, and then drop the old ones. The file is re-read when it changes,
so running web and worker processes follow a rotation without a restart.

A stored value is ``fernet:<token>``. A value without that prefix is a secret from before encryption (the migrations
encrypt them all; the field still reads such a value, and writes it back encrypted the next time the row is saved).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"
ENV = "AFTERSALES_ENCRYPTION_KEYS"
FILE_NAME = "encryption_keys"

_lock = threading.Lock()
_cache: dict[str, Any] = {"stamp": None, "keys": (), "fernet": None}


class SecretUnreadable(ImproperlyConfigured):
    """A stored secret that none of the keys opens: the key file of another install, or a lost key."""


def key_file() -> Path:
    return Path(settings.DATA_DIR) / FILE_NAME


def keys_from_environment() -> bool:
    return bool(os.environ.get(ENV, "").strip())


def _parse(text: str) -> tuple[str, ...]:
    """The keys of the file (one a line, ``#`` comments) or of the variable (comma-separated)."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    found = tuple(k.strip() for line in lines for k in line.split(",") if k.strip())
    for key in found:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"an encryption key is not a Fernet key (32 url-safe base64 bytes): {exc}") from exc
    return found


def write_keys(keys: list[str] | tuple[str, ...], path: Path | None = None) -> None:
    """Write the key file atomically with mode 0600 (newest key first)."""
    path = path or key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# Aftersales encryption keys, newest first (docs/security.md). Losing them loses the stored secrets.\n")
        out.write("".join(f"{k}\n" for k in keys))
    os.replace(tmp, path)


def _load() -> MultiFernet:
    env = os.environ.get(ENV, "").strip()
    if env:
        stamp: Any = ("env", env)
    else:
        path = key_file()
        if not path.exists():
            with _lock:
                if not path.exists():
                    write_keys([Fernet.generate_key().decode()], path)
        st = path.stat()
        stamp = (str(path), st.st_mtime_ns, st.st_size)
    if _cache["stamp"] != stamp:
        with _lock:
            keys = _parse(env if env else key_file().read_text())
            if not keys:
                raise ImproperlyConfigured(f"no encryption key in {ENV if env else key_file()}")
            _cache.update(stamp=stamp, keys=keys, fernet=MultiFernet([Fernet(k) for k in keys]))
    fernet: MultiFernet = _cache["fernet"]
    return fernet


def current_keys() -> tuple[str, ...]:
    _load()
    keys: tuple[str, ...] = _cache["keys"]
    return keys


def is_encrypted(stored: str | None) -> bool:
    return bool(stored) and str(stored).startswith(PREFIX)


def encrypt(value: str) -> str:
    """``fernet:<token>`` for a non-empty value; an empty value stays empty (so "is one set?" needs no key)."""
    if not value:
        return ""
    return PREFIX + _load().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        return stored  # a secret stored before encryption (encrypted by the next save, or by the migration)
    try:
        return _load().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        where = ENV if keys_from_environment() else str(key_file())
        raise SecretUnreadable(
            f"a stored secret cannot be decrypted with the keys in {where}: restore this install's key file "
            "(it is in the encrypted backup), or enter the secret again"
        ) from exc


def reencrypt(stored: str) -> str:
    """The same secret under the newest key (``MultiFernet.rotate``); plaintext from before encryption gets encrypted."""
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        return encrypt(stored)
    return PREFIX + _load().rotate(stored[len(PREFIX):].encode()).decode()


def mask(value: str | None) -> str:
    """How a stored secret is shown back: never in full. The last four characters of a long single-line secret (so a
    manager can tell which key is stored), nothing of a short one or of a PEM key."""
    if not value:
        return ""
    text = str(value).strip()
    if "\n" in text or "-----" in text or len(text) < 16:
        return "••••"
    return "••••" + text[-4:]


class EncryptedTextField(models.TextField):
    """A text column whose value is encrypted before it reaches the database and decrypted when read.

    The Python value is the plain secret; the column holds ``fernet:<token>``. Such a column cannot be searched or
    compared in SQL (every encryption differs); only "empty or not" can (an empty value is stored empty). ``max_length``
    limits the plain secret (checked by ``full_clean`` and forms), not the column."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.core.validators import MaxLengthValidator

        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return value
        return decrypt(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(PREFIX):
            return decrypt(value)
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        if isinstance(value, str) and value.startswith(PREFIX):
            return value  # already ciphertext (a rotation writes tokens through update())
        return encrypt(str(value))


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    """Every concrete model with encrypted columns, and their names (for rotation and the checks)."""
    from django.apps import apps

    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names and not model._meta.proxy:
            yield model, names


def raw_values(model: type[models.Model], names: list[str], connection: Any = None) -> Iterator[tuple[Any, dict[str, str]]]:
    """(pk, {field: stored text}) of every row, read without decrypting (SQL on the table itself)."""
    if connection is None:
        from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    pk = model._meta.pk
    assert pk is not None
    columns = [model._meta.get_field(n).column for n in names]  # type: ignore[union-attr]
    select = ", ".join(connection.ops.quote_name(c) for c in [pk.column, *columns])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {table} ORDER BY {connection.ops.quote_name(pk.column)}")  # noqa: S608
        for row in cursor.fetchall():
            yield row[0], {n: row[i + 1] or "" for i, n in enumerate(names)}


def reencrypt_all() -> dict[str, int]:
    """Put every stored secret under the newest key (and encrypt any plaintext left). Returns rows per model."""
    from django.db import transaction

    counts: dict[str, int] = {}
    with transaction.atomic():
        for model, names in encrypted_fields():
            done = 0
            for pk, values in list(raw_values(model, names)):
                fresh = {n: reencrypt(v) for n, v in values.items() if v}
                if fresh:
                    model._default_manager.filter(pk=pk).update(**fresh)
                    done += 1
            counts[model._meta.label] = done
    return counts


def rotate(*, keep_old: bool = False) -> dict[str, int]:
    """Make a new key, re-encrypt every secret with it, then drop the old keys (unless ``keep_old``). The key file is
    written with both keys before any row changes, so a failure part-way loses nothing."""
    if keys_from_environment():
        raise ImproperlyConfigured(
            f"the keys come from {ENV}: put a new key first there (new,old), restart, run "
            "`aftersales rotate-encryption-key --reencrypt`, then remove the old key"
        )
    old = current_keys()
    new = Fernet.generate_key().decode()
    write_keys([new, *old])
    counts = reencrypt_all()
    if not keep_old:
        write_keys([new])
    return counts


# ---- migrations: encrypt the secrets stored before, and back -----------------------------------------------------
def migration_encrypt(label: str, names: list[str]) -> Any:
    """A RunPython pair for a data migration: forwards encrypts every plaintext secret of ``label``'s ``names``;
    backwards writes them back in clear (for a downgrade)."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(label)
        for pk, values in list(raw_values(model, names, schema_editor.connection)):
            plain = {n: encrypt(v) for n, v in values.items() if v and not v.startswith(PREFIX)}
            if plain:
                model._default_manager.filter(pk=pk).update(**plain)

    def backwards(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(label)
        connection = schema_editor.connection
        table = connection.ops.quote_name(model._meta.db_table)
        pk_column = connection.ops.quote_name(model._meta.pk.column)
        for pk, values in list(raw_values(model, names, connection)):
            for name, value in values.items():
                if value.startswith(PREFIX):
                    column = connection.ops.quote_name(model._meta.get_field(name).column)
                    with connection.cursor() as cursor:
                        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk_column} = %s",  # noqa: S608
                                       [decrypt(value), pk])

    return forwards, backwards
