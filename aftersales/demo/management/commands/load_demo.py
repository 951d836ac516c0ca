"""``aftersales load_demo``: load the demo data set once (run on every ``make run``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from aftersales.demo.loader import DEMO_PASSWORD, GROUP_NAME, load_demo, mark_demo_install


class Command(BaseCommand):
    help = (
        "Load the demo dealer group (two stores, staff, customers, vehicles, a year of visits) unless loaded."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = load_demo()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        mark_demo_install()  # every page now says so (issue 13, item 2)
        if result is None:
            self.stdout.write(f"Demo data already loaded ({GROUP_NAME}); nothing to do.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded demo data in {result.seconds:.1f} s: {result.users} staff, "
                f"{result.customers} customers, "
                f"{result.vehicles} vehicles, {result.orders} repair orders, {result.invoices} invoices "
                f"({result.paid} paid), {result.incomplete} deliberately incomplete customer records."
            )
        )
        self.stdout.write(
            f"Sign in as admin, manager, advisor, tech, foreman, qc, parts, cashier, callcentre "
            f"(store gz) or manager.sz, advisor.sz, ... (store sz); password for all: {DEMO_PASSWORD}"
        )
