"""``aftersales import-history FILE [--apply] [--store CODE] [--user USERNAME]``: check, then import, visit history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Check a CSV/.xlsx file of past visits (row-level errors); with --apply, import the valid rows "
            "(customers, vehicles, paid visits). Importing the same file again changes nothing.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the .csv or .xlsx file (one row per paid visit)")
        parser.add_argument("--apply", action="store_true", help="import the valid rows (default: check only)")
        parser.add_argument("--store", help="store code for rows without a store column (default: the user's store)")
        parser.add_argument("--user", help="username the changes are recorded under (default: the first superuser)")

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.common.errors import DomainError
        from aftersales.engagement.services import import_job_create, import_job_process, import_job_start
        from aftersales.staff.models import User
        from aftersales.stores.models import Store

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
        stores = Store.objects.all() if user.is_superuser else Store.objects.filter(memberships__user=user)
        if user.dealer_group_id:
            stores = stores.filter(group_id=user.dealer_group_id)
        store = stores.filter(code=options["store"]).first() if options["store"] else stores.order_by("id").first()
        if store is None:
            raise CommandError("Which store? Pass --store CODE (a store the user works at).")
        if user.dealer_group_id is None:
            user.dealer_group = store.group  # not saved: the services act within the store's group
        try:
            job, preview = import_job_create(actor=user, store=store, name=path.name, data=path.read_bytes())
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        for error in preview.errors:
            self.stderr.write(str(error))
        self.stdout.write(f"check: {preview.total_rows} rows, {preview.new} new visits, {preview.unchanged} already "
                          f"imported, {preview.error_rows} rows with errors")
        if not options["apply"]:
            return
        if not preview.new:
            self.stdout.write("nothing new to import")
            return
        import_job_start(actor=user, job=job)
        job = import_job_process(job_id=job.pk)
        for error in job.errors:
            if error not in [e.as_dict() for e in preview.errors]:
                self.stderr.write(f"row {error['row']}, {error['field']}: {error['message']}")
        self.stdout.write(
            f"imported: {job.created_count} visits created, {job.unchanged_count} already imported, "
            f"{job.error_count} rows with errors, {job.customers_created} new customers, "
            f"{job.vehicles_created} new vehicles"
        )
