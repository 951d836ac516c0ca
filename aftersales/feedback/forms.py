"""Forms of the feedback screens: they check shape; the services check the rules (and name the field)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .choices import CaseChannel, CaseKind, Category, Reaction

SCORE_CHOICES = [(str(i), str(i)) for i in range(11)]
STAFF_CHANNELS = [(c.value, c.label) for c in (CaseChannel.PHONE, CaseChannel.BOX, CaseChannel.REVIEW)]
PUBLIC_KINDS = [(CaseKind.COMPLAINT.value, CaseKind.COMPLAINT.label), (CaseKind.SUGGESTION.value, CaseKind.SUGGESTION.label)]


class ScoresForm(forms.Form):
    """The follow-up script / survey: five 0–10 scores and suggestions."""

    overall = forms.ChoiceField(label=_("Overall, how satisfied are you with this visit?"), choices=SCORE_CHOICES,
                                widget=forms.RadioSelect, required=False)
    attitude = forms.ChoiceField(label=_("Service attitude"), choices=SCORE_CHOICES, widget=forms.RadioSelect)
    quality = forms.ChoiceField(label=_("Repair quality"), choices=SCORE_CHOICES, widget=forms.RadioSelect)
    waiting = forms.ChoiceField(label=_("Waiting time"), choices=SCORE_CHOICES, widget=forms.RadioSelect)
    price = forms.ChoiceField(label=_("Price"), choices=SCORE_CHOICES, widget=forms.RadioSelect)
    recommend = forms.ChoiceField(label=_("How likely are you to recommend us to a friend?"), choices=SCORE_CHOICES, widget=forms.RadioSelect)
    suggestions = forms.CharField(label=_("Suggestions"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class StaffCaseForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=PUBLIC_KINDS)
    channel = forms.ChoiceField(label=_("Channel"), choices=STAFF_CHANNELS)
    mobile = forms.CharField(label=_("Customer's mobile"), max_length=20, required=False)
    plate = forms.CharField(label=_("Plate"), max_length=12, required=False)
    order_number = forms.CharField(label=_("Repair order number"), max_length=30, required=False)
    contact_name = forms.CharField(label=_("Contact name"), max_length=60, required=False)
    text = forms.CharField(label=_("What the customer said"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class PublicCaseForm(forms.Form):
    kind = forms.ChoiceField(label=_("This is a"), choices=PUBLIC_KINDS, widget=forms.RadioSelect, initial=CaseKind.COMPLAINT)
    name = forms.CharField(label=_("Your name"), max_length=60)
    mobile = forms.CharField(label=_("Mobile"), max_length=20)
    plate = forms.CharField(label=_("Plate (optional)"), max_length=12, required=False)
    text = forms.CharField(label=_("What happened, or what do you suggest?"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}))
    photos = MultipleFileField(label=_("Photos (optional, images only, up to 5 MB each)"), required=False)


class TransitionForm(forms.Form):
    to = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    resolution = forms.CharField(label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    adopted = forms.ChoiceField(label=_("Suggestion adopted?"), required=False,
                                choices=[("", "—"), ("yes", _("Yes, adopted")), ("no", _("Not adopted"))])
    reaction = forms.ChoiceField(label=_("Customer's reaction"), required=False, choices=[("", "—"), *Reaction.choices])


class CategoryForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)


class ActionForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    title = forms.CharField(label=_("Action"), max_length=200)
    owner = forms.ChoiceField(label=_("Owner"))
    start_date = forms.DateField(label=pgettext_lazy("date range", "From"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, staff: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(str(u.pk), str(u)) for u in staff or []]
