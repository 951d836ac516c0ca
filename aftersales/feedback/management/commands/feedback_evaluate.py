"""Print the feedback classifier's accuracy on the held-out part of the shipped labelled set."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from aftersales.feedback import classifier


class Command(BaseCommand):
    help = "Train on the training part of data/labelled.csv and print the accuracy on the held-out part."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--with-corrections", action="store_true", help="also train on the labels staff corrected")

    def handle(self, *args: Any, **options: Any) -> None:
        extra = classifier.corrections() if options["with_corrections"] else []
        result = classifier.evaluate(extra)
        self.stdout.write(
            f"feedback classifier: trained on {result.train_size} examples ({result.corrections} staff corrections), "
            f"held-out {result.test_size}: accuracy {result.accuracy:.1%} "
            f"(majority-class baseline {result.majority_baseline:.1%}, chance {1 / len(result.per_class):.1%})"
        )
        for label, value in result.per_class.items():
            self.stdout.write(f"  {label:<11} {value:.1%}")
