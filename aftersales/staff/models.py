from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Skill(models.TextChoices):
    ENGINE = "engine", _("Engine")
    ELECTRICAL = "electrical", _("Electrical")
    BODY = "body", _("Body")
    PAINT = "paint", _("Paint")
    EV = "ev", _("EV / high voltage")
    TYRES = "tyres", _("Tyres")
    MAINTENANCE = "maintenance", _("Maintenance")
    TRANSMISSION = "transmission", _("Transmission")
    AIRCON = "aircon", _("Air conditioning")


class Certificate(models.TextChoices):
    """What a job can require a valid certificate for (SPEC §20): the data the workshop's dispatch checks. Kept in
    ``staff`` (a low layer) so that workshop and estimates read it without importing the people app."""

    HIGH_VOLTAGE = "hv_ev", _("High-voltage EV work")
    SRS = "srs", _("Airbag / SRS")
    REFRIGERANT = "ac_refrigerant", _("Air-conditioning refrigerant")
    SERVICE_ADVISOR = "advisor", _("Service advisor")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class User(AbstractUser):
    """A member of staff. Roles are Django groups; stores through memberships."""

    dealer_group = models.ForeignKey(
        "stores.DealerGroup", verbose_name=_("dealer group"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="staff",
    )
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    stores = models.ManyToManyField(
        "stores.Store", verbose_name=_("stores"), through="StoreMembership", related_name="staff", blank=True
    )
    # Set by the demo loader only: with the published demo password such an account signs in from this machine only.
    is_demo = models.BooleanField(_("demo account"), default=False, editable=False)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        permissions = [("manage_api_tokens", _("Can create and revoke API tokens"))]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class StoreMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="memberships")
    is_primary = models.BooleanField(_("primary store"), default=False)

    class Meta:
        verbose_name = _("store membership")
        verbose_name_plural = _("store memberships")
        constraints = [models.UniqueConstraint(fields=["user", "store"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.store}"


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for integrations. Only its hash is stored; the key is shown once at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate_key() -> str:
        return "as_" + secrets.token_urlsafe(32)


def _certificate_scan_path(instance: Certification, filename: str) -> str:
    return f"people/certificates/{instance.user_id}/{filename}"


class Certification(models.Model):
    """A certificate a member of staff holds (issuer, level, number, valid from/to, the scan). Valid on a day when
    the day lies within [valid_from, valid_until] and it is not withdrawn. The people app writes it (its services);
    the workshop's dispatch reads it through ``staff.selectors.certified_user_ids``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("holder"), on_delete=models.CASCADE, related_name="certifications"
    )
    kind = models.CharField(_("certificate for"), max_length=20, choices=Certificate.choices)
    issuer = models.CharField(_("issuer"), max_length=120)
    level = models.CharField(_("level"), max_length=60, blank=True)
    number = models.CharField(_("certificate number"), max_length=60)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    scan = models.FileField(_("scan of the certificate"), upload_to=_certificate_scan_path, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        ordering = ["user_id", "kind", "-valid_until", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "issuer", "number"], name="certification_number_unique"),
            models.CheckConstraint(condition=models.Q(valid_until__gte=models.F("valid_from")), name="certification_dates_ordered"),
        ]
        indexes = [models.Index(fields=["kind", "valid_until"], name="certification_kind_until_idx")]
        permissions = [("override_certification", _("Can dispatch a job to a technician without the required certificate"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def is_valid_on(self, day: Any) -> bool:
        return self.withdrawn_at is None and self.valid_from <= day <= self.valid_until
