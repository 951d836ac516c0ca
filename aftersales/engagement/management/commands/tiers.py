"""``aftersales tiers --as-of DATE [--customer ID] [--list] [--save]``: tiers as of any date (SPEC §10).

With --customer: that customer's tier, R/F/M and why (the per-customer rules). Without: every customer's tier
computed set-based, counted per tier (--list prints one CSV line per customer; --save stores the result as the
nightly recompute does, recording changes).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Print customers' tiers as of a date (per customer, or all set-based); --save stores them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (default: today)")
        parser.add_argument("--customer", type=int, help="one customer's id")
        parser.add_argument("--list", action="store_true", help="one CSV line per customer")
        parser.add_argument("--save", action="store_true", help="store the tiers and record changes (nightly job)")

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.customers.models import Customer
        from aftersales.engagement import tiersql
        from aftersales.engagement.selectors import reason_text, tier_as_of
        from aftersales.engagement.services import tier_recompute_all

        try:
            as_of = dt.date.fromisoformat(options["as_of"]) if options["as_of"] else timezone.localdate()
        except ValueError as exc:
            raise CommandError("--as-of must be a date as YYYY-MM-DD") from exc
        if options["customer"]:
            customer = Customer.objects.filter(pk=options["customer"]).first()
            if customer is None:
                raise CommandError(f"No customer {options['customer']}.")
            r = tier_as_of(customer, as_of)
            self.stdout.write(
                f"customer {customer.pk} as of {as_of}: tier {r.tier} ({r.reason}); R={r.r_days} days "
                f"(last paid visit {r.last_visit or '—'}), F={r.f}, M={r.m}, paid visits ever={r.visits_total}\n"
                f"{reason_text(r.reason, last_visit=r.last_visit, f=r.f, m=r.m, r_days=r.r_days)}"
            )
            return
        if options["save"]:
            counts = tier_recompute_all(as_of=as_of)
            self.stdout.write(f"saved as of {as_of}: {counts}")
        rows = tiersql.compute_rows(as_of)
        if options["list"]:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(["customer_id", "tier", "reason", "last_visit", "r_days", "f", "m", "class"])
            for row in rows:
                writer.writerow([row["customer_id"], row["tier"], row["reason"], row["last_visit"] or "",
                                 row["r_days"] if row["r_days"] is not None else "", row["f"], f"{float(row['m']):.2f}",
                                 row["value_class"]])
            self.stdout.write(buffer.getvalue(), ending="")
        counts = Counter(row["tier"] for row in rows)
        self.stdout.write(f"as of {as_of}: " + ", ".join(f"{t}={counts.get(t, 0)}" for t in "ABCD")
                          + f" (customers: {len(rows)})")
