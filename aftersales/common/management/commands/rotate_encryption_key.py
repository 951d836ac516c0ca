"""``aftersales rotate-encryption-key``: a new key for the secrets stored encrypted (docs/security.md)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.common import crypto


class Command(BaseCommand):
    help = ("Make a new encryption key, re-encrypt every stored secret (SMS, WeChat, webhook, payment merchant keys) "
            "with it and drop the old key. With AFTERSALES_ENCRYPTION_KEYS set, only --reencrypt applies.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--keep-old", action="store_true",
                            help="keep the old keys in the key file (they still decrypt; only the new one encrypts)")
        parser.add_argument("--reencrypt", action="store_true",
                            help="make no key: re-encrypt every secret with the newest key already configured "
                                 "(after putting a new key first in AFTERSALES_ENCRYPTION_KEYS)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["reencrypt"]:
                counts = crypto.reencrypt_all()
                what = "re-encrypted with the newest configured key"
            else:
                counts = crypto.rotate(keep_old=options["keep_old"])
                what = f"re-encrypted with a new key in {crypto.key_file()}"
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        rows = ", ".join(f"{label}: {n}" for label, n in counts.items()) or "no encrypted columns"
        self.stdout.write(f"{sum(counts.values())} rows {what} ({rows})")
        if not options["reencrypt"]:
            self.stdout.write("Make a new encrypted backup now: older backups hold the old key.")
