"""``aftersales telematics-prune``: delete readings older than TELEMATICS_RETENTION_DAYS (run nightly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Delete telematics readings older than the retention setting."

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.telematics.services import readings_prune

        self.stdout.write(f"deleted {readings_prune()} readings")
