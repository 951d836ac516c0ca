"""``aftersales backup [--output DIR_OR_FILE] [--recipient age1… | --passphrase-file FILE | --no-encrypt]``: the
database, the uploads and the keys in one archive, encrypted (docs/security.md "Backups")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.common.backup import (
    ENV_PASSPHRASE,
    ENV_RECIPIENTS,
    BackupError,
    Encryption,
    backup,
    configured_encryption,
)


class Command(BaseCommand):
    help = ("Back up the database (without live sessions), the uploads and the keys into one archive, encrypted to "
            "the backup public keys (aftersales backup-key) or with a passphrase.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", default=None,
                            help="a directory (a dated file name is made inside it) or a file; default DATA_DIR/backups")
        parser.add_argument("--recipient", "-r", action="append", default=[],
                            help=f"an age public key (age1…) to encrypt to; default {ENV_RECIPIENTS} or "
                                 "DATA_DIR/backup_recipients (made by `aftersales backup-key`)")
        parser.add_argument("--passphrase-file", default=None,
                            help=f"encrypt with the passphrase in this file (or set {ENV_PASSPHRASE})")
        parser.add_argument("--no-encrypt", action="store_true",
                            help="write the archive in clear, without the encryption keys of the stored secrets")

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"] or Path(settings.DATA_DIR) / "backups")
        if options["output"] is None:
            output.mkdir(parents=True, exist_ok=True)
        try:
            if options["no_encrypt"]:
                how = Encryption()
            else:
                how = configured_encryption(recipients=options["recipient"], passphrase_file=options["passphrase_file"])
                if not how.enabled:
                    raise BackupError(
                        "backups are encrypted: make a backup key first (`aftersales backup-key --output FILE`, keep "
                        f"FILE off this machine), or give --recipient, --passphrase-file or {ENV_PASSPHRASE}; "
                        "--no-encrypt writes the archive in clear")
            summary = backup(output=output, encryption=how)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{summary.path} ({summary.engine}, {summary.files} uploaded files, {summary.bytes:,} bytes, "
                          f"encrypted: {summary.encrypted})")
