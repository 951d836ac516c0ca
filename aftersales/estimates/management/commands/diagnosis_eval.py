"""`aftersales diagnosis_eval [--group ID]`: how well the preliminary diagnosis reads customers' words (issue 21)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from aftersales.estimates.diagnosis import evaluate
from aftersales.stores.models import DealerGroup


class Command(BaseCommand):
    help = "Measure the preliminary diagnosis against a majority-class baseline (hand-labelled set and held-out history)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--group", type=int, help="dealer group id (default: the first)")

    def handle(self, *args: Any, **options: Any) -> None:
        group = DealerGroup.objects.filter(pk=options["group"]).first() if options["group"] else DealerGroup.objects.order_by("pk").first()
        if group is None:
            raise CommandError("No dealer group.")
        e = evaluate(group.pk)
        w = self.stdout.write
        w(f"group {group.pk} {group.name}: {e.history_examples} training pairs from the job history")
        w(f"hand-labelled set ({e.examples} descriptions, zh + en):")
        w(f"  majority class ({e.majority_system}) {e.baseline:.1%}")
        w(f"  rules only                 {e.rules:.1%}")
        w(f"  history model only         {e.model:.1%}")
        w(f"  combined (what is shown)   {e.combined:.1%}")
        w(f"held-out fifth of the history ({e.holdout_examples} pairs):")
        w(f"  majority class             {e.holdout_baseline:.1%}")
        w(f"  history model              {e.holdout_model:.1%}")
