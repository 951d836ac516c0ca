"""Messaging screens for staff (templates, outbox, phone tasks, notifications, channel settings, background work)
and the customer's public opt-out page. Thin: read through selectors, write through services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from aftersales.common import services as common_services
from aftersales.common.crypto import mask
from aftersales.common.errors import DomainError
from aftersales.common.models import TaskRun, TaskState, WorkerHeartbeat
from aftersales.common.scoping import default_store, get_or_404, spans_group, visible_store_ids
from aftersales.common.templatetags.aftersales import phone_for_user as phone_for
from aftersales.common.views import found as _found

from . import selectors, services
from .choices import Channel, MessageStatus
from .forms import ChannelSettingsForm, MessageFilterForm, PhoneTaskDoneForm, TemplateFilterForm, TemplateForm
from .kinds import KINDS, default_subject, sample_values
from .sms import sms_size


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("name"))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---- messages ------------------------------------------------------------------------------------------------
@login_required
@permission_required("messaging.view_message", raise_exception=True)
def message_list(request: HttpRequest) -> HttpResponse:
    form = MessageFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.message_list(request.user, **{k: v for k, v in filters.items() if v})
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = [{"m": m, "recipient": _recipient(request.user, m)} for m in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "messaging/message_list.html", {"form": form, "page": page, "rows": rows, "query": query.urlencode()})


def _recipient(user: Any, message: Any) -> str:
    if message.channel in (Channel.SMS, Channel.PHONE) and message.recipient.startswith("+"):
        return phone_for(user, message.recipient)
    if message.channel == Channel.APP:  # "customer:42" / "user:7" are addresses, not words for a person
        return _("the owner app's inbox") if message.recipient.startswith("customer:") else _("staff notifications")
    return message.recipient


@login_required
@permission_required("messaging.view_message", raise_exception=True)
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = _found(selectors.message_get, request.user, pk)
    labels = dict(MessageStatus.choices)
    can_retry = request.user.has_perm("messaging.change_message") and message.status in (MessageStatus.FAILED, MessageStatus.UNKNOWN)
    return render(request, "messaging/message_detail.html", {
        "m": message, "recipient": _recipient(request.user, message), "can_retry": can_retry,
        "attempts": list(message.delivery_attempts.all()),
        "events": [{"e": e, "from": labels.get(e.from_state, e.from_state), "to": labels.get(e.to_state, e.to_state)}
                   for e in message.events.all()],
    })


@login_required
@require_POST
@permission_required("messaging.change_message", raise_exception=True)
def message_retry(request: HttpRequest, pk: int) -> HttpResponse:
    message = _found(selectors.message_get, request.user, pk)
    try:
        services.message_retry(actor=request.user, message=message)
    except DomainError as exc:
        flash.error(request, str(exc.message))
    else:
        flash.success(request, _("The message is queued again."))
    return redirect("messaging:message_detail", message.pk)


# ---- templates -----------------------------------------------------------------------------------------------
@login_required
@permission_required("messaging.change_messagetemplate", raise_exception=True)
def template_list(request: HttpRequest) -> HttpResponse:
    stores = _stores(request.user)
    store = _found(default_store, request.user, _int(request.GET.get("store")))
    form = TemplateFilterForm(request.GET or None, stores=stores, initial={"store": str(store.pk)})
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.template_overview(
        request.user, store, kind=filters.get("kind", ""), channel=filters.get("channel", ""), language=filters.get("language", "")
    )
    return render(request, "messaging/template_list.html", {
        "form": form, "rows": rows, "store": store, "can_edit_group": spans_group(request.user),
    })


def _template_context(request: HttpRequest, kind: str, channel: str, language: str) -> dict[str, Any]:
    if kind not in KINDS or channel not in Channel.values or language not in services.LANGUAGES:
        raise _not_found()
    return {"message_kind": KINDS[kind], "channel_label": Channel(channel).label, "language": language}


def _not_found() -> Exception:
    from django.http import Http404

    return Http404(_("Not found, or not visible to you."))


@login_required
@permission_required("messaging.change_messagetemplate", raise_exception=True)
def template_edit(request: HttpRequest) -> HttpResponse:
    """Edit the text of one kind/channel/language: the store's override (scope=store) or the group's default."""
    source = request.POST if request.method == "POST" else request.GET
    kind, channel, language = source.get("kind", ""), source.get("channel", ""), source.get("language", "")
    ctx = _template_context(request, kind, channel, language)
    group_scope = source.get("scope") == "group"
    if group_scope and not spans_group(request.user):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    store = None if group_scope else _found(default_store, request.user, _int(source.get("store")))
    existing = selectors.template_for_editing(request.user, kind=kind, channel=channel, language=language, store=store)
    if existing is None and store is not None:
        inherited = selectors.template_for_editing(request.user, kind=kind, channel=channel, language=language, store=None)
    else:
        inherited = None
    base = existing or inherited
    message_kind = KINDS[kind]
    with translation.override(language):  # the built-in subject in the template's language, not the page's
        builtin_subject = str(default_subject(message_kind))
    initial = {
        "kind": kind, "channel": channel, "language": language, "scope": "group" if group_scope else "store",
        "subject": base.subject if base else builtin_subject,
        "body": base.body if base else message_kind.default_text.get(language, ""),
        "provider_template_code": base.provider_template_code if base else "",
        "is_active": base.is_active if base else True,
    }
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.template_save(
                actor=request.user, kind=kind, channel=channel, language=language, body=data["body"],
                subject=data["subject"], provider_template_code=data["provider_template_code"], store=store,
                is_active=data["is_active"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            flash.success(request, _("Template saved."))
            url = reverse("messaging:template_list")
            return redirect(f"{url}?store={store.pk}" if store is not None else url)
    preview = _preview(kind, channel, language, initial["subject"], initial["body"])
    return render(request, "messaging/template_edit.html", {
        **ctx, "form": form, "store": store, "group_scope": group_scope, "existing": existing, "inherited": inherited,
        "variables": sorted(sample_values(message_kind, language).items()), "preview": preview,
    })


def _preview(kind: str, channel: str, language: str, subject: str, body: str) -> dict[str, Any]:
    try:
        rendered_subject, rendered_body = services.template_preview(
            kind=kind, channel=channel, language=language, body=body or "", subject=subject or ""
        )
    except DomainError as exc:
        return {"error": str(exc.message), "field": exc.field}
    out: dict[str, Any] = {"subject": rendered_subject, "body": rendered_body}
    if channel == Channel.SMS:  # billed per part: show what this text costs with the sample values
        out["sms"] = sms_size(rendered_body)
    return out


@login_required
@require_POST
@permission_required("messaging.change_messagetemplate", raise_exception=True)
def template_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the text with the kind's sample values; errors go inline on the field (out-of-band swaps)."""
    kind, channel, language = request.POST.get("kind", ""), request.POST.get("channel", ""), request.POST.get("language", "")
    _template_context(request, kind, channel, language)
    preview = _preview(kind, channel, language, request.POST.get("subject", ""), request.POST.get("body", ""))
    return render(request, "messaging/_template_preview.html", {"preview": preview, "oob": True, "language": language})


# ---- phone tasks -----------------------------------------------------------------------------------------------
@login_required
@permission_required("messaging.view_phonetask", raise_exception=True)
def phone_task_list(request: HttpRequest) -> HttpResponse:
    qs = selectors.phone_tasks_open(request.user, store_id=_int(request.GET.get("store")))
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = [{"t": t, "phone": phone_for(request.user, t.phone) if t.phone.startswith("+") else t.phone} for t in page.object_list]
    return render(request, "messaging/phone_tasks.html", {
        "page": page, "rows": rows, "form": PhoneTaskDoneForm(), "now": timezone.now(),
    })


@login_required
@require_POST
@permission_required("messaging.change_phonetask", raise_exception=True)
def phone_task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = _found(selectors.phone_task_get, request.user, pk)
    try:
        services.phone_task_complete(actor=request.user, task=task, outcome=request.POST.get("outcome", ""))
    except DomainError as exc:
        flash.error(request, str(exc.message))
    else:
        flash.success(request, _("Call marked done."))
    return redirect("messaging:phone_tasks")


# ---- notifications --------------------------------------------------------------------------------------------
@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first; the ones shown are marked read (they stay highlighted this once)."""
    page = Paginator(selectors.notifications_for(request.user), 25).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    unread = [n.pk for n in rows if n.read_at is None]
    if unread:
        services.notification_mark_read(actor=request.user, notification_ids=unread)
    return render(request, "messaging/notifications.html", {"page": page, "rows": rows, "unread": set(unread)})


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notification_mark_read(actor=request.user)
    flash.success(request, _("%(n)s notification(s) marked read.") % {"n": count})
    return redirect("messaging:notifications")


# ---- channel settings -------------------------------------------------------------------------------------------
@login_required
@permission_required("messaging.change_channelsettings", raise_exception=True)
def channel_settings(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    store = _found(default_store, request.user, _int(source.get("store")))
    current = selectors.channel_settings_for(request.user, store.pk)
    defaults = services.ChannelSettings(store=store)  # unsaved: the model's defaults
    row = current or defaults
    initial = {name: getattr(row, name) for name in services.CHANNEL_FIELDS}
    form = ChannelSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        clear = tuple(data.pop("clear_secrets", []) or [])
        try:
            services.channel_settings_update(actor=request.user, store=store, data=data, clear_secrets=clear)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            flash.success(request, _("Channel settings saved."))
            return redirect(f"{reverse('messaging:channel_settings')}?store={store.pk}")
    # a stored secret is never shown back: whether one is set, and its last characters when it is long (masked)
    secrets_set = {name: mask(getattr(row, name)) for name in ChannelSettingsForm.SECRETS}
    return render(request, "messaging/channel_settings.html", {
        "form": form, "store": store, "stores": _stores(request.user), "secrets_set": secrets_set,
    })


# ---- background work -----------------------------------------------------------------------------------------
#: the background tasks as an operator calls them (by the last part of the task's name)
TASK_LABELS = {
    "followup_sweep": pgettext_lazy("background task", "Follow-up calls and surveys"),
    "sla_sweep": pgettext_lazy("background task", "Feedback deadlines"),
    "heartbeat": pgettext_lazy("background task", "Worker heartbeat"),
    "prune_task_runs": pgettext_lazy("background task", "Clean up this list"),
    "earn_sweep": pgettext_lazy("background task", "Points for paid invoices"),
    "expiry_sweep": pgettext_lazy("background task", "Expire points"),
    "flag_silent_orders": pgettext_lazy("background task", "Orders without a progress update"),
    "dispatch": pgettext_lazy("background task", "Send queued messages"),
    "recover": pgettext_lazy("background task", "Recover stuck messages"),
    "nightly": pgettext_lazy("background task", "Nightly customer tiers and tags"),
    "run_import": pgettext_lazy("background task", "History import"),
    "import_sweep": pgettext_lazy("background task", "Pending history imports"),
    "reminder_sweep": pgettext_lazy("background task", "Care reminders"),
    "playbooks_tick": pgettext_lazy("background task", "Playbooks and campaigns"),
    "reorder_sweep": pgettext_lazy("background task", "Parts reorder"),
    "parts_demand": pgettext_lazy("background task", "Parts demand and suggested minimums"),
    "expire_reservations": pgettext_lazy("background task", "Release expired parts reservations"),
    "shop_expiry_sweep": pgettext_lazy("background task", "Expire unpaid app accessories orders"),
}


def task_label(name: str) -> str:
    return str(TASK_LABELS.get(name.rsplit(".", 1)[-1], pgettext_lazy("background task", "Other task")))


@login_required
@permission_required("common.view_taskrun", raise_exception=True)
def background_work(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    qs = TaskRun.objects.order_by("-queued_at", "-id")
    if state in TaskState.values:
        qs = qs.filter(state=state)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    for run in page.object_list:
        run.label = task_label(run.name)
    health = selectors.outbox_health(request.user)
    return render(request, "messaging/background_work.html", {
        "page": page, "state": state, "states": TaskState.choices, "health": [
            {"status": s, "label": MessageStatus(s).label, "count": n} for s, n in health.items()
        ],
        "heartbeats": list(WorkerHeartbeat.objects.order_by("-seen_at")[:20]),
        "can_rerun": request.user.has_perm("common.change_taskrun"),
    })


@login_required
@require_POST
@permission_required("common.change_taskrun", raise_exception=True)
def task_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    run = _found(lambda: get_or_404(TaskRun.objects.all(), pk=pk))
    try:
        new = common_services.task_rerun(actor=request.user, run=run)
    except DomainError as exc:
        flash.error(request, str(exc.message))
    else:
        flash.success(request, _("Task %(name)s queued again.") % {"name": new.name})
    return redirect("messaging:background_work")


# ---- the customer's opt-out link (public) ------------------------------------------------------------------------
#: the channel as a customer says it ("by text message", "by phone"), never the product's term ("phone-call task")
OPT_OUT_CHANNEL = {
    Channel.SMS: pgettext_lazy("opt-out by", "text message"),
    Channel.PHONE: pgettext_lazy("opt-out by", "phone"),
    Channel.EMAIL: pgettext_lazy("opt-out by", "e-mail"),
    Channel.WECHAT: pgettext_lazy("opt-out by", "WeChat"),
    Channel.APP: pgettext_lazy("opt-out by", "app notification"),
}


def opt_out(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the customer opts out of; POST records it. In the message's language unless the customer
    picks the other one; the channel in the customer's words (a phone call, not a "phone-call task") and the store's
    name in that language only."""
    from aftersales.common.text import localized_name

    message = services.message_from_opt_out_token(token)
    asked = request.POST.get("lang") or request.GET.get("lang")
    language = asked if asked in ("en", "zh-hans") else (message.language if message is not None else "zh-hans")
    language = language if language in ("en", "zh-hans") else "zh-hans"
    with translation.override(language):
        if message is None:
            return render(request, "messaging/opt_out.html", {"bad_token": True, "language": language}, status=404)
        done = False
        if request.method == "POST":
            services.opt_out(message=message, via="link")
            done = True
        label = OPT_OUT_CHANNEL.get(message.channel, Channel(message.channel).label)
        return render(request, "messaging/opt_out.html", {
            "message": message, "store_name": localized_name(message.store.name, language), "channel_label": label,
            "done": done, "language": language, "token": token,
        })
