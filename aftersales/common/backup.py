"""``aftersales backup`` and ``aftersales restore`` (issue 13, "Backups that restore"; docs/security.md).

One archive (``.tar.gz``) holds everything a store needs to come back after losing its machine:

- the database: SQLite through its online backup API (a consistent copy while the app keeps running), PostgreSQL
  through ``pg_dump --format=custom``; live sessions are left out (nobody is signed in after a restore);
- the uploads (``MEDIA_ROOT``: photos, signatures, imports);
- the secret key of the data directory, without which every signed link already sent to customers stops working
  (when the key comes from ``AFTERSALES_SECRET_KEY`` instead, the archive says so and keeps it out);
- the keys of the secrets stored encrypted (``encryption_keys``, see common/crypto.py), in an encrypted archive only:
  an archive left in clear (``--no-encrypt``) keeps them out, so that it never holds both the ciphertext and its key;
- ``manifest.json``: format, engine, when, what is inside (file count and bytes).

The archive is encrypted (by default: ``backup`` refuses to write one in clear unless told ``--no-encrypt``) in the
age format (``pyrage``, the Python binding of the audited ``rage``; any ``age``/``rage`` tool decrypts it too):
- to one or more **public keys** (``aftersales backup-key`` makes a pair: the public key stays on the machine in
  ``DATA_DIR/backup_recipients``, the private key file goes somewhere else; streamed, any size), or
- with a **passphrase** (scrypt; the archive is encrypted in memory, so prefer keys for large installs).
``restore`` decrypts with ``--key-file`` or the passphrase; a wrong key or passphrase is refused before anything is
touched.

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
AGE_MAGIC = (b"age-encryption.org/v1", b"-----BEGIN AGE ENCRYPTED FILE-----")
RECIPIENTS_FILE = "backup_recipients"
ENV_RECIPIENTS = "AFTERSALES_BACKUP_RECIPIENTS"
ENV_PASSPHRASE = "AFTERSALES_BACKUP_PASSPHRASE"  # noqa: S105  (the variable's name)
ENV_KEY_FILE = "AFTERSALES_BACKUP_KEY_FILE"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class Summary:
    path: Path
    engine: str
    files: int
    bytes: int
    encrypted: str = "no"


@dataclass
class Encryption:
    """How an archive is encrypted: to age public keys (``age1…``), or with a passphrase. Neither: in clear."""

    recipients: tuple[str, ...] = ()
    passphrase: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.recipients or self.passphrase)

    @property
    def label(self) -> str:
        return "age passphrase" if self.passphrase else ("age public key" if self.recipients else "no")


def _read_secret_file(path: Path | str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise BackupError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from exc


def _key_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def recipients_file() -> Path:
    return Path(settings.DATA_DIR) / RECIPIENTS_FILE


def configured_encryption(*, recipients: list[str] | None = None, passphrase_file: str | None = None) -> Encryption:
    """The encryption a backup uses: the passphrase (``--passphrase-file`` or AFTERSALES_BACKUP_PASSPHRASE) when given,
    otherwise the public keys (``--recipient``, AFTERSALES_BACKUP_RECIPIENTS, or DATA_DIR/backup_recipients)."""
    if passphrase_file:
        return Encryption(passphrase=_read_secret_file(passphrase_file, "passphrase"))
    if os.environ.get(ENV_PASSPHRASE):
        return Encryption(passphrase=os.environ[ENV_PASSPHRASE])
    found = [r.strip() for r in (recipients or []) if r.strip()]
    if not found and os.environ.get(ENV_RECIPIENTS, "").strip():
        found = [r for r in os.environ[ENV_RECIPIENTS].replace(",", " ").split() if r]
    if not found and recipients_file().is_file():
        found = _key_lines(recipients_file().read_text(encoding="utf-8"))
    return Encryption(recipients=tuple(found))


def make_backup_key(identity_path: Path) -> str:
    """A new age key pair for backups: the private key (identity) is written to ``identity_path`` (mode 0600, refused
    if it exists); the public key is added to DATA_DIR/backup_recipients. Returns the public key."""
    from pyrage import x25519

    identity_path = Path(identity_path)
    if identity_path.exists():
        raise BackupError(f"{identity_path} exists already: choose another file (never overwrite a backup key)")
    identity = x25519.Identity.generate()
    public = str(identity.to_public())
    identity_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(identity_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"# Aftersales backup key, made {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Keep it OFF this machine:\n"
                  f"# without it no backup encrypted to it can be restored.\n# public key: {public}\n{identity}\n")
    existing = _key_lines(recipients_file().read_text(encoding="utf-8")) if recipients_file().is_file() else []
    recipients_file().write_text("".join(f"{r}\n" for r in [*existing, public]), encoding="utf-8")
    return public


def _encrypt_file(plain: Path, target: Path, how: Encryption) -> None:
    import pyrage
    from pyrage import passphrase as age_passphrase
    from pyrage import x25519

    try:
        if how.passphrase:
            target.write_bytes(age_passphrase.encrypt(plain.read_bytes(), how.passphrase))
        else:
            pyrage.encrypt_file(str(plain), str(target), [x25519.Recipient.from_str(r) for r in how.recipients])
    except (pyrage.RecipientError, pyrage.EncryptError, ValueError) as exc:
        raise BackupError(f"cannot encrypt the archive: {exc} (a public key looks like age1…)") from exc


def is_encrypted(archive: Path) -> bool:
    with open(archive, "rb") as f:
        head = f.read(40)
    return any(head.startswith(m) for m in AGE_MAGIC)


def decrypt_archive(archive: Path, target: Path, *, key_file: str | None = None, passphrase: str | None = None) -> None:
    """Decrypt an age archive into ``target``: with the identities of ``key_file`` (or AFTERSALES_BACKUP_KEY_FILE), or
    with the passphrase (or AFTERSALES_BACKUP_PASSPHRASE). A wrong key or passphrase is a BackupError."""
    import pyrage
    from pyrage import passphrase as age_passphrase
    from pyrage import x25519

    key_file = key_file or os.environ.get(ENV_KEY_FILE) or None
    passphrase = passphrase or os.environ.get(ENV_PASSPHRASE) or None
    if not key_file and not passphrase:
        raise BackupError(f"{archive} is encrypted: give the backup key (--key-file FILE or {ENV_KEY_FILE}) or the "
                          f"passphrase (--passphrase-file FILE or {ENV_PASSPHRASE})")
    try:
        if key_file:
            lines = _key_lines(_read_secret_file(key_file, "backup key"))
            identities = [x25519.Identity.from_str(line) for line in lines if line.startswith("AGE-SECRET-KEY-")]
            if not identities:
                raise BackupError(f"{key_file} holds no age private key (a line AGE-SECRET-KEY-1…)")
            pyrage.decrypt_file(str(archive), str(target), identities)
        else:
            assert passphrase is not None
            target.write_bytes(age_passphrase.decrypt(archive.read_bytes(), passphrase))
    except (pyrage.DecryptError, pyrage.IdentityError, ValueError) as exc:
        raise BackupError(f"cannot decrypt {archive}: wrong backup key or passphrase ({exc})") from exc
    target.chmod(0o600)


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


def backup(*, output: Path, encryption: Encryption | None = None) -> Summary:
    """Write the archive to ``output`` (a directory: a dated file name inside it), encrypted as ``encryption`` says
    (None or an empty Encryption: in clear, without the encryption keys). Returns what was written."""
    from aftersales.common import crypto

    kind = engine()
    how = encryption or Encryption()
    output = Path(output)
    if output.is_dir():
        output = output / (default_name() + (".age" if how.enabled else ""))
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
            "encryption_keys": "environment" if crypto.keys_from_environment() else (
                ("included" if crypto.key_file().is_file() else "none") if how.enabled else "left out (archive in clear)"),
            "encrypted": how.label,
            "sessions": "left out",
        }
        partial = output.with_name(output.name + ".partial")
        plain = Path(tmp) / "archive.tar.gz" if how.enabled else partial
        with tarfile.open(plain, "w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime, info.mode = len(data), int(dt.datetime.now(dt.UTC).timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(db_path, arcname=db_name)
            for path in files:
                tar.add(path, arcname=f"media/{path.relative_to(media_root).as_posix()}")
            if manifest["secret_key"] == "included":  # noqa: S105  (a status word, not a password)
                tar.add(key_file, arcname="secret_key")
            if manifest["encryption_keys"] == "included":
                tar.add(crypto.key_file(), arcname="encryption_keys")
        if how.enabled:
            _encrypt_file(plain, partial, how)
        partial.chmod(0o600)  # the archive holds personal data and the secret key
        os.replace(partial, output)
    return Summary(path=output, engine=kind, files=len(files), bytes=output.stat().st_size, encrypted=how.label)


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


def restore(*, archive: Path, force: bool = False, key_file: str | None = None,
            passphrase: str | None = None) -> dict[str, Any]:
    """Put ``archive`` back into this data directory and database (decrypting it first with ``key_file`` or
    ``passphrase`` when it is encrypted). Returns the archive's manifest, with ``unreadable_secrets``: how many stored
    secrets this install's encryption keys cannot open (0 unless an archive in clear comes without its keys)."""
    archive = Path(archive)
    if archive.is_file() and is_encrypted(archive):
        with tempfile.TemporaryDirectory(prefix="aftersales-decrypt-", dir=settings.DATA_DIR) as tmp:
            plain = Path(tmp) / "archive.tar.gz"
            decrypt_archive(archive, plain, key_file=key_file, passphrase=passphrase)
            return _restore_plain(plain, force=force)
    return _restore_plain(archive, force=force)


def _unreadable_secrets() -> int:
    from aftersales.common import crypto

    count = 0
    for model, names in crypto.encrypted_fields():
        for _pk, values in crypto.raw_values(model, names):
            for value in values.values():
                try:
                    crypto.decrypt(value)
                except crypto.SecretUnreadable:
                    count += 1
    return count


def _restore_plain(archive: Path, *, force: bool) -> dict[str, Any]:
    from aftersales.common import crypto

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
        if (root / "encryption_keys").is_file():
            crypto.write_keys(crypto._parse((root / "encryption_keys").read_text()))
    connections.close_all()
    manifest["unreadable_secrets"] = _unreadable_secrets()
    return manifest
