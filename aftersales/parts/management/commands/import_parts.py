"""``aftersales import-parts FILE [--apply]``: check (and with --apply, import) a parts catalogue workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from aftersales.common.errors import DomainError
from aftersales.parts import importers


class Command(BaseCommand):
    help = "Check an .xlsx parts catalogue (row-level errors); with --apply, create and update the valid rows."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the .xlsx workbook (as written by the catalogue export)")
        parser.add_argument("--apply", action="store_true", help="write the valid rows (default: preview only)")
        parser.add_argument("--user", help="username the changes are recorded under (default: the first superuser)")
        parser.add_argument("--group", help="dealer group id or name (default: the user's group, or the only one)")

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.staff.models import User
        from aftersales.stores.models import DealerGroup

        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if options["user"]:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {options['user']!r}.")
        else:
            user = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
            if user is None:
                raise CommandError("No superuser: pass --user USERNAME.")
        group = None
        if options["group"]:
            value = options["group"]
            group = DealerGroup.objects.filter(pk=int(value)).first() if value.isdigit() else DealerGroup.objects.filter(name=value).first()
        elif user.dealer_group_id:
            group = user.dealer_group
        elif DealerGroup.objects.count() == 1:
            group = DealerGroup.objects.get()
        if group is None:
            raise CommandError("Which dealer group? Pass --group ID or NAME.")
        if user.dealer_group_id is None and user.is_superuser:
            user.dealer_group = group  # the catalogue services act within the user's group (not saved)
        data = path.read_bytes()
        try:
            importers.check_upload(path.name, len(data), data[:8])
            result = importers.apply(actor=user, group=group, data=data) if options["apply"] else importers.preview(group, data)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        for error in result.errors:
            self.stderr.write(str(error))
        verb = "applied" if options["apply"] else "preview"
        self.stdout.write(
            f"{verb}: {result.created} new, {result.updated} changed, {result.unchanged} unchanged, "
            f"{result.error_rows} rows with errors"
        )
