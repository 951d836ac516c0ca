"""Forms for the messaging screens: they check the shape of input; the services check its meaning."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.common.forms import DomainForm

from .choices import Channel, MessageStatus, SmsProvider
from .kinds import KINDS
from .services import LANGUAGES


def kind_choices(blank: bool = False) -> list[tuple[str, str]]:
    rows = [(code, str(k.label)) for code, k in KINDS.items()]
    return [("", _("All kinds")), *rows] if blank else rows


def language_choices(blank: bool = False) -> list[tuple[str, Any]]:
    labels = {"zh-hans": _("Simplified Chinese"), "en": _("English")}
    rows = [(code, labels.get(code, code)) for code in LANGUAGES]
    return [("", _("All languages")), *rows] if blank else rows


class MessageFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    customer_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All statuses")), *MessageStatus.choices]
        self.fields["channel"].choices = [("", _("All channels")), *Channel.choices]
        self.fields["kind"].choices = kind_choices(blank=True)


class TemplateFilterForm(forms.Form):
    store = forms.ChoiceField(label=_("Store"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args: Any, stores: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [(str(s.pk), str(s)) for s in stores]
        self.fields["kind"].choices = kind_choices(blank=True)
        self.fields["channel"].choices = [("", _("All channels")), *Channel.choices]
        self.fields["language"].choices = language_choices(blank=True)


class TemplateForm(DomainForm):
    kind = forms.ChoiceField(label=_("Kind"), widget=forms.HiddenInput)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, widget=forms.HiddenInput)
    language = forms.ChoiceField(label=_("Language"), widget=forms.HiddenInput)
    scope = forms.CharField(widget=forms.HiddenInput, required=False)
    subject = forms.CharField(label=_("Subject (e-mail, notifications)"), max_length=200, required=False)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 6}), required=False)
    provider_template_code = forms.CharField(
        label=_("Provider template code (SMS)"), max_length=60, required=False,
        help_text=_("The code of the template approved by Aliyun or Tencent."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()
        self.fields["language"].choices = language_choices()


class PhoneTaskDoneForm(DomainForm):
    outcome = forms.CharField(label=_("Outcome of the call"), max_length=300, required=False)


class ChannelSettingsForm(DomainForm):
    """Secrets are write-only: never rendered back, blank keeps the stored value."""

    quiet_start = forms.TimeField(label=_("Quiet hours start"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    quiet_end = forms.TimeField(label=_("Quiet hours end"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    sms_provider = forms.ChoiceField(label=_("SMS provider"), choices=SmsProvider.choices)
    sms_access_key_id = forms.CharField(label=_("SMS access key id / SecretId"), max_length=100, required=False)
    sms_access_key_secret = forms.CharField(
        label=_("SMS access key secret / SecretKey"), max_length=200, required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    sms_sign_name = forms.CharField(label=_("SMS sign name"), max_length=40, required=False)
    sms_sdk_app_id = forms.CharField(label=_("SMS SDK app id (Tencent)"), max_length=40, required=False)
    sms_region = forms.CharField(label=_("SMS region"), max_length=40, required=False)
    wechat_app_id = forms.CharField(label=_("WeChat app id"), max_length=64, required=False)
    wechat_app_secret = forms.CharField(
        label=_("WeChat app secret"), max_length=128, required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    email_from = forms.CharField(label=_("Sender e-mail"), max_length=200, required=False)
    webhook_url = forms.URLField(label=_("Webhook URL"), required=False, assume_scheme="https")
    webhook_secret = forms.CharField(
        label=_("Webhook signing secret"), max_length=128, required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_secrets = forms.MultipleChoiceField(
        label=_("Remove stored secrets"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[("sms_access_key_secret", _("SMS secret")), ("wechat_app_secret", _("WeChat secret")),
                 ("webhook_secret", _("Webhook secret"))],
    )

    SECRETS = ("sms_access_key_secret", "wechat_app_secret", "webhook_secret")
