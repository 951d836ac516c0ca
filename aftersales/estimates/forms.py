"""Reading the decision controls of the approval pages (signed link, tablet, phone) and the staff forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.staff.models import Certificate, Skill
from aftersales.workshop.choices import JobType

from .choices import PartChoice


def decisions_from_post(post: Any, jobs: list[Any], options: dict[int, Any]) -> dict[int, dict[str, Any]]:
    """``job_<id>`` = approve | decline (single jobs), ``group_<gid>`` = <job id> | none (options),
    ``reason_<id>`` / ``reason_group_<gid>`` and ``aftermarket_<id>`` → the services' decisions."""
    out: dict[int, dict[str, Any]] = {}
    for job in jobs:
        option = options.get(job.pk)
        consent = post.get(f"aftermarket_{job.pk}") in ("on", "1", "true", "yes")
        approve: bool | None
        if option is None:
            value = post.get(f"job_{job.pk}")
            approve = True if value == "approve" else False if value == "decline" else None
            out[job.pk] = {"approve": approve, "reason": post.get(f"reason_{job.pk}", ""), "aftermarket_consent": consent}
        else:
            value = post.get(f"group_{option.group_id}") or ""
            approve = None if not value else value == str(job.pk)
            reason = post.get(f"reason_group_{option.group_id}", "") if value == "none" else ""
            out[job.pk] = {"approve": approve, "reason": reason, "aftermarket_consent": consent}
    return out


class AddOperationForm(forms.Form):
    operation = forms.IntegerField(label=_("Operation"))
    part_choice = forms.ChoiceField(label=_("Parts"), choices=PartChoice.choices, initial=PartChoice.OEM)


class AddJobForm(forms.Form):
    title = forms.CharField(label=_("Job"), max_length=200)
    job_type = forms.ChoiceField(label=_("Job type"), choices=JobType.choices, initial=JobType.REPAIR)
    hours = forms.CharField(label=_("Labour hours"), max_length=10, required=False)
    fee_description = forms.CharField(label=_("Fee"), max_length=200, required=False)
    fee_amount = forms.CharField(label=_("Fee amount"), max_length=20, required=False)
    discount = forms.CharField(label=_("Discount on the labour"), max_length=20, required=False)
    cause = forms.CharField(label=_("Cause"), max_length=300, required=False)


class LabourRateForm(forms.Form):
    job_type = forms.ChoiceField(label=_("Job type"), choices=JobType.choices)
    rate = forms.CharField(label=_("Rate per hour"), max_length=20)


class LabourOperationForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=30)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=120)
    name_en = forms.CharField(label=_("Name (English)"), max_length=120, required=False)
    standard_hours = forms.CharField(label=_("Standard hours"), max_length=10)
    job_type = forms.ChoiceField(label=_("Job type"), choices=JobType.choices, initial=JobType.REPAIR)
    required_skill = forms.ChoiceField(label=_("Required skill"), choices=[("", "—"), *Skill.choices], required=False)
    required_certificate = forms.ChoiceField(
        label=_("Required certificate"), choices=[("", "—"), *Certificate.choices], required=False,
        help_text=_("Jobs from this operation go only to technicians holding a valid certificate of this kind."),
    )
    parts = forms.CharField(
        label=_("Parts"), max_length=500, required=False,
        help_text=_("Part numbers with quantities, e.g. 04465-33471 x1, 90430-12031 x2"),
    )
