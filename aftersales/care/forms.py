"""Forms check the shape of input; the care services check its meaning (errors land inline on the field)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.common.forms import DomainForm
from aftersales.messaging.choices import Channel

from .choices import MESSAGE_KIND_LABELS, CallTarget, DateEvent, StepKind, TriggerKind
from .playbooks import PLAYBOOK_KINDS


class ReminderActionForm(DomainForm):
    action = forms.ChoiceField(label=pgettext_lazy("contact result", "Action"), choices=[("called", _("Called")), ("booked", _("Booked")), ("dismissed", _("Dismissed"))])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class PlaybookForm(DomainForm):
    name = forms.CharField(label=pgettext_lazy("name of a thing", "Name"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    trigger = forms.ChoiceField(label=_("Trigger"), choices=TriggerKind.choices)
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", "—"), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")])
    date_event = forms.ChoiceField(label=_("Date event"), required=False, choices=[("", "—"), *DateEvent.choices])
    offset_days = forms.IntegerField(label=_("Days after the event"), required=False, initial=0, min_value=-365, max_value=365)
    inactivity_days = forms.IntegerField(label=_("Days without a visit"), required=False, min_value=1, max_value=3650)
    segment_id = forms.TypedChoiceField(label=_("Segment"), required=False, coerce=int, empty_value=None, choices=[])
    audience_make = forms.CharField(label=_("Audience: make"), max_length=40, required=False)
    # a datetime-local input only shows a value written as 2026-12-20T09:00 (Django's default has a space: blank)
    starts_at = forms.DateTimeField(label=_("Scheduled for"), required=False, widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    holdout_percent = forms.IntegerField(label=_("Hold-out group (%)"), initial=10, min_value=0, max_value=50)
    stop_on_booked = forms.BooleanField(label=_("Stop when an appointment is booked"), required=False, initial=True)
    stop_on_visited = forms.BooleanField(label=_("Stop when the customer visits"), required=False, initial=True)
    stop_on_opt_out = forms.BooleanField(label=_("Stop when the customer opts out"), required=False, initial=True)
    measure_days = forms.IntegerField(label=_("Measure results over (days)"), initial=90, min_value=7, max_value=365)

    def __init__(self, *args: Any, store: Any = None, **kwargs: Any) -> None:
        """``store``: the playbook's store; the segment picker offers its segments (the group's and its own)."""
        from .selectors import segment_choices

        super().__init__(*args, **kwargs)
        self.fields["segment_id"].choices = [("", "—"), *segment_choices(store)]

    def cleaned(self) -> dict[str, Any]:
        d = dict(self.cleaned_data)
        for key in ("offset_days",):
            d[key] = d.get(key) or 0
        return d


class StepForm(DomainForm):
    kind = forms.ChoiceField(label=_("Step"), choices=StepKind.choices)
    message_kind = forms.ChoiceField(label=_("Message"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("Preferred channel")), *Channel.choices])
    text = forms.CharField(label=_("Offer / script"), max_length=300, required=False)
    wait_days = forms.IntegerField(label=_("Wait (days)"), required=False, min_value=0, max_value=365)
    call_target = forms.ChoiceField(label=_("Call by"), required=False, choices=[("", "—"), *CallTarget.choices])
    voucher_template_id = forms.TypedChoiceField(label=_("Voucher template"), required=False, coerce=int,
                                                 empty_value=None, choices=[])

    def __init__(self, *args: Any, store: Any = None, **kwargs: Any) -> None:
        """``store``: the playbook's store; the voucher picker offers its active templates by name."""
        from aftersales.messaging.kinds import KINDS

        from .selectors import voucher_template_choices

        super().__init__(*args, **kwargs)
        self.fields["voucher_template_id"].choices = [("", "—"), *voucher_template_choices(store)]
        self.fields["message_kind"].choices = [("", "—")] + [
            (k, str(MESSAGE_KIND_LABELS.get(k) or KINDS[k].label)) for k in PLAYBOOK_KINDS
        ]
