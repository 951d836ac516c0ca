from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.common.forms import DomainForm

from .choices import Condition, DrivingCondition, ExtraRequest, Frequency, Since


class HandoverForm(DomainForm):
    mileage = forms.CharField(label=_("Mileage (km)"), required=False, widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    energy_level = forms.CharField(
        label=_("Fuel / charge level (%)"), required=False,
        widget=forms.NumberInput(attrs={"type": "range", "min": 0, "max": 100, "step": 5, "data-testid": "energy", "data-output": "energy-out"}),
    )
    exterior = forms.ChoiceField(label=_("Exterior"), choices=Condition.choices)
    exterior_notes = forms.CharField(label=_("Exterior notes"), max_length=300, required=False)
    interior = forms.ChoiceField(label=_("Interior"), choices=Condition.choices)
    interior_notes = forms.CharField(label=_("Interior notes"), max_length=300, required=False)
    warning_lights = forms.CharField(label=_("Warning lights on"), max_length=200, required=False)
    belongings = forms.CharField(label=_("Belongings left in the car"), max_length=300, required=False)
    customer_words = forms.CharField(label=_("In the customer's words"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    since = forms.ChoiceField(label=_("Since when"), choices=[("", "—"), *Since.choices], required=False)
    frequency = forms.ChoiceField(label=_("How often"), choices=[("", "—"), *Frequency.choices], required=False)
    conditions = forms.MultipleChoiceField(
        label=_("Under what conditions"), choices=DrivingCondition.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    restatement = forms.CharField(label=_("Advisor's restatement"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    extra_requests = forms.MultipleChoiceField(
        label=_("Extra requests"), choices=ExtraRequest.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    promised_at = forms.DateTimeField(
        label=_("Promised for"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
