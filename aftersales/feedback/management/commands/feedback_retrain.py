"""Retrain the feedback classifier on the labelled set plus every staff correction and report its accuracy."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from aftersales.feedback import classifier


class Command(BaseCommand):
    help = "Rebuild the classifier with the staff corrections (LabelCorrection) and print held-out accuracy."

    def handle(self, *args: Any, **options: Any) -> None:
        extra = classifier.corrections()
        result = classifier.evaluate(extra)
        classifier.model()  # rebuilds this process's model; other processes rebuild on their next use (keyed by data)
        self.stdout.write(
            f"retrained with {len(extra)} staff corrections; held-out accuracy {result.accuracy:.1%} "
            f"on {result.test_size} examples (baseline {result.majority_baseline:.1%})"
        )
