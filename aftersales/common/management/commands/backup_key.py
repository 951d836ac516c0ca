"""``aftersales backup-key --output FILE``: a key pair for encrypted backups (docs/security.md "Backups")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.common.backup import BackupError, make_backup_key, recipients_file


class Command(BaseCommand):
    help = ("Make a key pair for encrypted backups: the private key goes to --output (keep it off this machine), the "
            "public key is added to DATA_DIR/backup_recipients and every later backup is encrypted to it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", required=True, help="where to write the private key (a new file)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            public = make_backup_key(Path(options["output"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"public key {public} added to {recipients_file()}\n"
            f"private key written to {options['output']}: copy it somewhere safe OFF this machine (a password manager, "
            "a USB key in the safe) and delete it here. `aftersales restore ARCHIVE --key-file FILE` needs it.")
