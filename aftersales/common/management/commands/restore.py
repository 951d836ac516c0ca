"""``aftersales restore ARCHIVE [--key-file FILE | --passphrase-file FILE] [--force]``: put a backup back into this
data directory and database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.common.backup import ENV_KEY_FILE, ENV_PASSPHRASE, BackupError, _read_secret_file, restore


class Command(BaseCommand):
    help = "Restore an archive made by `aftersales backup` (same database engine) into this install."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive")
        parser.add_argument("--force", action="store_true",
                            help="replace a database that already has data (and its uploads and keys)")
        parser.add_argument("--key-file", default=None,
                            help=f"the backup private key file of an encrypted archive (or set {ENV_KEY_FILE})")
        parser.add_argument("--passphrase-file", default=None,
                            help=f"the passphrase of an encrypted archive, in a file (or set {ENV_PASSPHRASE})")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            passphrase = _read_secret_file(options["passphrase_file"], "passphrase") if options["passphrase_file"] else None
            manifest = restore(archive=Path(options["archive"]), force=options["force"], key_file=options["key_file"],
                               passphrase=passphrase)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored the backup of {manifest['created_at']} ({manifest['engine']}, "
                          f"{manifest['media_files']} uploaded files); run `aftersales migrate` if this version is newer")
        if manifest.get("unreadable_secrets"):
            self.stderr.write(
                f"{manifest['unreadable_secrets']} stored secrets (SMS, WeChat, webhook, payment keys) cannot be "
                "decrypted with this install's encryption keys: the archive was made in clear and left them out. Copy "
                "the old install's encryption_keys file into the data directory, or enter those secrets again.")
