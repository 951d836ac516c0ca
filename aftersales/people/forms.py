from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.staff.models import Certificate


class CertificationForm(forms.Form):
    holder = forms.ChoiceField(label=_("Holder"))
    kind = forms.ChoiceField(label=_("Certificate for"), choices=Certificate.choices)
    issuer = forms.CharField(label=_("Issuer"), max_length=120, help_text=_("The carmaker or the training body."))
    level = forms.CharField(label=_("Level"), max_length=60, required=False)
    number = forms.CharField(label=_("Certificate number"), max_length=60)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}))
    scan = forms.FileField(label=_("Scan of the certificate"), required=False,
                           help_text=_("A photo or scan (JPEG, PNG or WebP)."))

    def __init__(self, *args: Any, holders: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["holder"].choices = [("", "—"), *[(str(u.pk), str(u)) for u in holders]]


class CertificationChangeForm(forms.Form):
    issuer = forms.CharField(label=_("Issuer"), max_length=120)
    level = forms.CharField(label=_("Level"), max_length=60, required=False)
    number = forms.CharField(label=_("Certificate number"), max_length=60)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}))
    scan = forms.FileField(label=_("New scan of the certificate"), required=False,
                           help_text=_("Leave empty to keep the scan on file."))
    reason = forms.CharField(label=_("Why (for the record)"), max_length=300, required=False,
                             help_text=_("For example: renewed after the refresher course, or a typing error."))


class PeopleSettingsForm(forms.Form):
    complaint_rate_threshold = forms.DecimalField(
        label=_("Complaint rate that calls for training (per 100 visits)"), min_value=0, max_value=100,
        decimal_places=1, help_text=_("Advisors above it in the quarter are flagged and proposed a training."))
    referral_reward = forms.DecimalField(label=_("Reward per referral (CNY)"), min_value=0, max_value=100000,
                                         decimal_places=2,
                                         help_text=_("Paid for each referral whose new customer has paid a first visit."))
    general_manager = forms.ChoiceField(label=_("General manager"), required=False)
    gm_reception_target = forms.IntegerField(label=_("Customers the general manager receives a month"), min_value=0,
                                             max_value=500)

    def __init__(self, *args: Any, staff: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["general_manager"].choices = [("", "—"), *[(str(u.pk), str(u)) for u in staff]]
