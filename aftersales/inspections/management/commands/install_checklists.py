"""Give stores the shipped checklists they do not have yet (inspection, self/peer/final QC, cleaning)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from aftersales.inspections.services import install_default_checklists
from aftersales.stores.models import Store


class Command(BaseCommand):
    help = "Create the default checklists for every store (or --store CODE) that lacks them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", help="store code (default: every store)")

    def handle(self, *args: Any, **options: Any) -> None:
        stores = Store.objects.all().order_by("id")
        if options.get("store"):
            stores = stores.filter(code=options["store"])
        for store in stores:
            created = install_default_checklists(store=store)
            self.stdout.write(f"{store.code}: {len(created)} checklist(s) added")
