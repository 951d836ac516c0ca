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


NEW_HIRE_MODULES = [
    # (code, title) — the new hire's month (SPEC §20)
    ("culture", _("Company culture and service standards")),
    ("appointment", _("The service process: appointment")),
    ("reception", _("The service process: reception and the handover sheet")),
    ("repair", _("The service process: repair, estimates and authorization")),
    ("delivery", _("The service process: delivery and explaining the work")),
    ("followup", _("The service process: follow-up and complaints")),
    ("technical", _("Technical basics of the brands we service")),
]
MODULE_TITLES = dict(NEW_HIRE_MODULES)


class NewHireProgramme(models.Model):
    """A new hire's one-month programme: a checklist of modules, with a mentor."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("new hire"), on_delete=models.CASCADE, related_name="new_hire_programme"
    )
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("mentor"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_on = models.DateField(_("started on"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("new-hire programme")
        verbose_name_plural = _("new-hire programmes")
        ordering = ["-started_on", "-id"]

    def __str__(self) -> str:
        return str(self.person)


class ProgrammeModule(models.Model):
    programme = models.ForeignKey(NewHireProgramme, on_delete=models.CASCADE, related_name="modules")
    code = models.CharField(_("module"), max_length=20)
    seq = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("signed off by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("programme module")
        verbose_name_plural = _("programme modules")
        ordering = ["programme_id", "seq", "id"]
        constraints = [models.UniqueConstraint(fields=["programme", "code"], name="programme_module_unique")]

    def __str__(self) -> str:
        return str(self.title)

    @property
    def title(self) -> str:
        return str(MODULE_TITLES.get(self.code, self.code))


class TrainingSession(models.Model):
    """A monthly in-service session: date, trainer, topic, who attended, and the short test's result."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    held_on = models.DateField(_("date"))
    trainer = models.CharField(_("trainer"), max_length=60)
    topic = models.CharField(_("topic"), max_length=120)
    pass_mark = models.PositiveSmallIntegerField(_("pass mark (of 100)"), default=60)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        ordering = ["-held_on", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(pass_mark__lte=100), name="session_pass_mark_le_100")]

    def __str__(self) -> str:
        return self.topic


class SessionAttendance(models.Model):
    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="attendance")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("attendee"), on_delete=models.CASCADE,
                               related_name="training_attendance")
    score = models.PositiveSmallIntegerField(_("test score (of 100)"), null=True, blank=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["session_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "person"], name="attendance_unique"),
            models.CheckConstraint(condition=models.Q(score__isnull=True) | models.Q(score__lte=100), name="attendance_score_le_100"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.session_id}"

    @property
    def passed(self) -> bool | None:
        return None if self.score is None else self.score >= self.session.pass_mark
