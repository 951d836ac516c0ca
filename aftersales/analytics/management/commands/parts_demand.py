"""Recompute the parts demand forecast and the suggested minimum levels (what the nightly task does).

    aftersales parts_demand            # every active store
    aftersales parts_demand --store gz # one store (its code)
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Forecast each part's demand per store and recompute the suggested minimum stock levels."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--store", default="", help="a store's code (default: every active store)")

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.analytics import parts_demand
        from aftersales.stores.models import Store

        started = time.perf_counter()
        if options["store"]:
            stores = list(Store.objects.filter(code=options["store"]))
            if not stores:
                raise CommandError(f"no store with code {options['store']!r}")
            written = {s.code: parts_demand.compute_store(s) for s in stores}
        else:
            written = parts_demand.compute_all()
        for code, n in written.items():
            self.stdout.write(f"{code}: {n} suggestion(s)")
        self.stdout.write(f"{time.perf_counter() - started:.1f}s")
