"""Build, refresh or reconcile the cockpit's daily KPI rollups.

    aftersales rollups --days 365      # rebuild the last year's daily rows, staff facts and period rows (idempotent)
    aftersales rollups --reconcile     # recompute the last 35 days and report the differences
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone


class Command(BaseCommand):
    help = "Rebuild the daily KPI rollups of the last N days, or reconcile them with the raw tables."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=7)
        parser.add_argument("--reconcile", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.analytics import rollups

        started = time.perf_counter()
        if options["reconcile"]:
            run = rollups.reconcile(days=options["days"] if options["days"] != 7 else rollups.RECONCILE_DAYS)
            self.stdout.write(f"checked {run.checked} store-days {run.first_day}..{run.last_day}: "
                              f"{run.missing} without a rollup, {len(run.differences)} figures differed")
            for diff in run.differences[:50]:
                member = f" {diff['dimension']} {diff['key']}" if "dimension" in diff else ""
                self.stdout.write(f"  store {diff['store']} {diff['day']}{member} {diff['code']}: stored {diff['stored']} raw {diff['raw']}")
            return
        now = timezone.now()
        stores = rollups._stores()
        today = rollups._today(stores, now) if stores else now.date()
        days = [today - dt.timedelta(days=i) for i in range(0, options["days"] + 1)]
        n = rollups.rollup_days(days, now=now, stores=stores)
        self.stdout.write(f"{n} store-days rolled up in {time.perf_counter() - started:.1f} s")
        from aftersales.analytics import facts

        started = time.perf_counter()
        n = facts.write_days(days, now=now, stores=stores)
        self.stdout.write(f"{n} store-days of staff facts in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        n = rollups.rollup_periods(rollups.periods_of(days), now=now, stores=stores)
        self.stdout.write(f"{n} period rows (stores and groups) rolled up in {time.perf_counter() - started:.1f} s")
