"""`aftersales diagnosis_train [--force]`: what the worker's periodic task does (``aftersales.estimates.train_diagnosis``)
at once: train each dealer group's preliminary-diagnosis model whose history moved."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from aftersales.estimates.diagnosis import train_all


class Command(BaseCommand):
    help = "Train the preliminary-diagnosis models whose history moved (what the worker does every 30 minutes)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--force", action="store_true", help="train even when the history did not move")

    def handle(self, *args: Any, **options: Any) -> None:
        n = train_all(force=options["force"])
        self.stdout.write(f"trained {n} model(s)")
