"""``aftersales restore ARCHIVE [--force]``: put a backup back into this data directory and database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.common.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore an archive made by `aftersales backup` (same database engine) into this install."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive")
        parser.add_argument("--force", action="store_true",
                            help="replace a database that already has data (and its uploads and secret key)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = restore(archive=Path(options["archive"]), force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored the backup of {manifest['created_at']} ({manifest['engine']}, "
                          f"{manifest['media_files']} uploaded files); run `aftersales migrate` if this version is newer")
