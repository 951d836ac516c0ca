"""``aftersales backup [--output DIR_OR_FILE]``: the database, the uploads and the secret key in one archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.common.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database (without live sessions), the uploads and the secret key into one .tar.gz archive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", default=None,
                            help="a directory (a dated file name is made inside it) or a file; default DATA_DIR/backups")

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"] or Path(settings.DATA_DIR) / "backups")
        if options["output"] is None:
            output.mkdir(parents=True, exist_ok=True)
        try:
            summary = backup(output=output)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{summary.path} ({summary.engine}, {summary.files} uploaded files, {summary.bytes:,} bytes)")
