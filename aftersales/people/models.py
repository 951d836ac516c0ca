"""People (SPEC §20). Certifications live in ``staff`` (see docs/people.md: the workshop's dispatch checks them and
must not import this app); delivery ratings live in ``feedback`` (the cockpit's scorecard counts them). This app
holds the rating terminals (kiosk tablets at the delivery desk)."""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

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


class PeopleSettings(models.Model):
    """A store's own rules for the incentives (SPEC §20); the defaults apply while a store has no row."""

    store = models.OneToOneField("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE,
                                 related_name="people_settings")
    complaint_rate_threshold = models.DecimalField(
        _("complaint rate that calls for training (per 100 visits)"), max_digits=5, decimal_places=1,
        default=Decimal("5.0"),
        help_text=_("Advisors with more complaints than this per 100 delivered visits in the quarter are flagged."),
    )
    referral_reward = models.DecimalField(
        _("reward per referral (CNY)"), max_digits=10, decimal_places=2, default=Decimal("100.00"),
        help_text=_("What a member of staff earns for each referral whose new customer has paid a first visit."),
    )
    general_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("general manager"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    gm_reception_target = models.PositiveSmallIntegerField(_("customers the general manager receives a month"),
                                                           default=10)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("people settings")
        verbose_name_plural = _("people settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(complaint_rate_threshold__gte=0), name="people_threshold_not_negative"),
            models.CheckConstraint(condition=models.Q(referral_reward__gte=0), name="people_reward_not_negative"),
        ]

    def __str__(self) -> str:
        return str(self.store)


class TrainingAssignment(models.Model):
    """Training a person is sent to (a member of staff flagged for their complaint rate, or by a manager's choice);
    done when they attend a session on the topic."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE,
                               related_name="training_assignments")
    topic = models.CharField(_("topic"), max_length=120)
    source = models.CharField(_("proposed by"), max_length=12, choices=[
        ("complaints", _("Complaint rate above the store's threshold")), ("manager", _("The manager's choice")),
    ], default="manager")
    reason = models.CharField(_("why"), max_length=300, blank=True)
    period_start = models.DateField(_("for the quarter starting"), null=True, blank=True)
    due_on = models.DateField(_("due by"), null=True, blank=True)
    session = models.ForeignKey(TrainingSession, verbose_name=_("attended session"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="assignments")
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    created_at = models.DateTimeField(_("assigned at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned by"), null=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("training assignment")
        verbose_name_plural = _("training assignments")
        ordering = ["done_at", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "source", "period_start"], name="assignment_once_per_quarter"),
        ]

    def __str__(self) -> str:
        return self.topic


class ReferralReward(models.Model):
    """A referral reward paid to the member of staff recorded on a qualified referral (loyalty's), at the store's
    amount when it was paid; one per referral."""

    referral = models.OneToOneField("loyalty.Referral", verbose_name=_("referral"), on_delete=models.PROTECT,
                                    related_name="staff_reward")
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff member"), on_delete=models.PROTECT,
                              related_name="referral_rewards")
    amount = models.DecimalField(_("amount (CNY)"), max_digits=10, decimal_places=2)
    paid_at = models.DateTimeField(_("paid at"))
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True,
                                on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("referral reward")
        verbose_name_plural = _("referral rewards")
        ordering = ["-paid_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="referral_reward_not_negative")]

    def __str__(self) -> str:
        return f"{self.staff_id}: {self.amount}"


class GMReception(models.Model):
    """A customer the general manager received in person (SPEC §20: at least 10 a month), logged from the reception
    screen ("received by") or the general manager's page."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("received by"), on_delete=models.PROTECT,
                                    related_name="+")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="+")
    handover = models.OneToOneField("reception.Handover", verbose_name=_("handover sheet"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="gm_reception")
    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(_("received at"))
    note = models.CharField(_("what was discussed"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("general manager's reception")
        verbose_name_plural = _("general manager's receptions")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["store", "received_by", "received_at"], name="gm_reception_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.received_at:%Y-%m-%d}"


class ServiceMeeting(models.Model):
    """The monthly customer-service meeting (客服例会): date, attendees, the month it reviews, the cases shared and the
    minutes. Its agenda is read from the month's feedback (complaints, low ratings, follow-up recoveries); the
    improvement actions it decides are the feedback report's own actions (``feedback.ImprovementAction``, one list),
    with their due date and status kept in ``MeetingAction``."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    held_on = models.DateField(_("date"))
    month = models.DateField(_("month reviewed"))  # the first day of the month
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("attendees"), related_name="+")
    cases = models.ManyToManyField("feedback.FeedbackCase", verbose_name=_("cases shared"), blank=True,
                                   related_name="+")
    minutes = models.TextField(_("meeting notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("customer-service meeting")
        verbose_name_plural = _("customer-service meetings")
        ordering = ["-held_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "month"], name="service_meeting_once_a_month")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.month:%Y-%m}"


class MeetingAction(models.Model):
    """What the meeting adds to one of the feedback report's improvement actions: the meeting that decided it, its due
    date and whether it is done (its effect is the report's before/after figures, reviewed at the next meeting)."""

    action = models.OneToOneField("feedback.ImprovementAction", verbose_name=_("improvement action"),
                                  on_delete=models.CASCADE, related_name="meeting_action")
    meeting = models.ForeignKey(ServiceMeeting, verbose_name=_("decided at"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="actions")
    due_on = models.DateField(_("due by"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    effect = models.CharField(_("effect seen"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("meeting action")
        verbose_name_plural = _("meeting actions")
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return str(self.action_id)
