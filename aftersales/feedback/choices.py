"""States, kinds and categories of follow-ups and feedback cases, with their transition tables."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class FollowUpMethod(models.TextChoices):
    CALL = "call", _("Call-centre call")
    SURVEY = "survey", _("Survey link")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("follow-up status", "To do")
    ANSWERED = "answered", _("Answered")
    UNREACHED = "unreached", _("Closed: customer not reached")
    CANCELLED = "cancelled", pgettext_lazy("follow-up status", "Cancelled")


FOLLOWUP_TRANSITIONS: dict[str, set[str]] = {
    FollowUpStatus.OPEN: {FollowUpStatus.ANSWERED, FollowUpStatus.UNREACHED, FollowUpStatus.CANCELLED},
    FollowUpStatus.ANSWERED: set(),
    FollowUpStatus.UNREACHED: set(),
    FollowUpStatus.CANCELLED: set(),
}


class CaseKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")
    RECOVERY = "recovery", _("Recovery (low follow-up score)")


class CaseChannel(models.TextChoices):
    PORTAL = "portal", _("Portal / app form")
    PHONE = "phone", _("Phone (entered by staff)")
    BOX = "box", _("In-store suggestion box")
    FOLLOWUP = "followup", _("Follow-up answer")
    REVIEW = "review", _("Public review")


class Category(models.TextChoices):
    ATTITUDE = "attitude", _("Service attitude")
    QUALITY = "quality", _("Repair quality")
    WAITING = "waiting", _("Waiting time")
    PRICE = "price", _("Price")
    PARTS = "parts", _("Parts")
    FACILITIES = "facilities", _("Environment / facilities")
    OTHER = "other", _("Other")


class CaseStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("case status", "New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", pgettext_lazy("feedback case", "In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", pgettext_lazy("case status", "Closed")


CASE_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.NEW: {CaseStatus.ACKNOWLEDGED},
    CaseStatus.ACKNOWLEDGED: {CaseStatus.IN_PROGRESS},
    CaseStatus.IN_PROGRESS: {CaseStatus.RESOLVED},
    CaseStatus.RESOLVED: {CaseStatus.CLOSED, CaseStatus.IN_PROGRESS},  # reopen
    CaseStatus.CLOSED: {CaseStatus.IN_PROGRESS},  # reopen
}
OPEN_CASE_STATES = (CaseStatus.NEW, CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS)


class TimerKind(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    CONTACT = "contact", _("Contact the customer")
    RESOLVE = "resolve", _("Resolve and report to the customer")
    ASSESS = "assess", _("Assess and tell the customer")
    RECOVERY = "recovery", _("Recovery call")


class TimerUnit(models.TextChoices):
    BUSINESS_HOURS = "hours", _("business hours")
    BUSINESS_DAYS = "days", _("business days")
    CLOCK_HOURS = "clock", _("hours of the clock (moved to the next opening)")


class EventKind(models.TextChoices):
    STATUS = "status", _("Status change")
    NOTE = "note", _("Note")
    CONTACT = "contact", _("Customer contacted")
    LABEL = "label", _("Category corrected")
    PAUSE = "pause", _("Timers paused")
    RESUME = "resume", _("Timers resumed")
    WARNING = "warning", _("SLA warning")
    ESCALATION = "escalation", _("Escalated to the manager")
    MESSAGE = "message", _("Message to the customer")


class Reaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    ACCEPTED = "accepted", _("Accepted")
    UNSATISFIED = "unsatisfied", _("Still unsatisfied")
    NOT_REACHED = "not_reached", _("Not reached")


#: the follow-up script: question code → (label, the category a low score on it belongs to)
QUESTIONS: list[tuple[str, object, str]] = [
    ("overall", _("Overall, how satisfied are you with this visit?"), Category.OTHER),
    ("attitude", _("Service attitude"), Category.ATTITUDE),
    ("quality", _("Repair quality"), Category.QUALITY),
    ("waiting", _("Waiting time"), Category.WAITING),
    ("price", _("Price"), Category.PRICE),
    ("recommend", _("How likely are you to recommend us to a friend?"), Category.OTHER),
]
SATISFACTION_QUESTIONS = ("attitude", "quality", "waiting", "price")
#: questions a call that ends half-way may leave unanswered (the overall question came later: older clients skip it)
OPTIONAL_QUESTIONS = ("overall",)

#: labels of the message kinds this app added to aftersales/messaging/kinds.py (kept here so this app's catalogue
#: carries their translations)
MESSAGE_KIND_LABELS = (_("Feedback received"), _("Complaint resolved"), _("Suggestion assessed"))
