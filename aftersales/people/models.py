"""People (SPEC §20). Certifications live in ``staff`` (see docs/people.md: the workshop's dispatch checks them and
must not import this app); delivery ratings live in ``feedback`` (the cockpit's scorecard counts them). This app
holds the rating terminals (kiosk tablets at the delivery desk)."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class RatingTerminal(models.Model):
    """A tablet at a store's delivery desk, paired once by opening its pairing link (the key is shown once; only its
    hash is stored). The tablet then holds a kiosk cookie that opens the rating page and nothing else: it is not a
    staff session. The advisor sends the order being delivered to the terminal; after one rating it is cleared."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=60)
    key_hash = models.CharField(max_length=64, unique=True)
    current_order = models.ForeignKey(
        "workshop.RepairOrder", verbose_name=_("order being rated"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    current_since = models.DateTimeField(_("shown since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rating terminal")
        verbose_name_plural = _("rating terminals")
        ordering = ["store_id", "name", "id"]
        permissions = [("use_ratingterminal", _("Can send an order to the rating terminal"))]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def generate_key() -> str:
        return "kiosk_" + secrets.token_urlsafe(32)
