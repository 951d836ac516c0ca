"""Reception screens: the handover sheet with the inquiry, damage on the car outline, photos, the signature, and the
customer's signing page behind the link."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, NotFound
from aftersales.common.scoping import get_or_404
from aftersales.common.views import found, store_from_request

from . import selectors, services
from .choices import DamageKind, HandoverStatus, SignedVia
from .forms import HandoverForm
from .models import DamageMark


def _sheet_context(request: HttpRequest, handover: Any, form: HandoverForm | None = None, **extra: Any) -> dict[str, Any]:
    if form is None:
        initial = {f: getattr(handover, f) for f in services.EDITABLE_FIELDS}
        if handover.promised_at:
            initial["promised_at"] = timezone.localtime(handover.promised_at, handover.store.zone).replace(tzinfo=None)
        form = HandoverForm(initial=initial)
    return {
        "h": handover, "form": form, "store": handover.store, "marks": list(handover.marks.all()),
        "photos": list(handover.photos.all()), "damage_kinds": DamageKind.choices,
        "editable": handover.status != HandoverStatus.SIGNED, "can_change": request.user.has_perm("reception.change_handover"),
        "events": list(handover.events.all()), **extra,
    }


@login_required
@permission_required("reception.view_handover", raise_exception=True)
def handover_list(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    rows = selectors.handovers_today(request.user, store)
    return render(request, "reception/list.html", {"store": store, "rows": rows})


@login_required
@permission_required("reception.add_handover", raise_exception=True)
@require_POST
def handover_start(request: HttpRequest) -> HttpResponse:
    user = request.user
    try:
        if request.POST.get("appointment"):
            from aftersales.appointments.selectors import appointment_get

            appointment = found(appointment_get, user, _int(request.POST.get("appointment")))
            handover = services.handover_start(actor=user, appointment=appointment)
        else:
            from aftersales.vehicles.selectors import vehicle_get

            store = store_from_request(request)
            vehicle = found(vehicle_get, user, _int(request.POST.get("vehicle")))
            handover = services.handover_start(actor=user, store=store, vehicle=vehicle)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(request.POST.get("next") or "web:reception")
    return redirect("reception:sheet", handover.pk)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@login_required
@permission_required("reception.view_handover", raise_exception=True)
def handover_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    handover = found(selectors.handover_get, request.user, pk)
    form = None
    if request.method == "POST":
        if not request.user.has_perm("reception.change_handover"):
            return HttpResponse(status=403)
        form = HandoverForm(request.POST)
        if form.is_valid():
            data = form.service_data()
            if data.get("promised_at"):
                data["promised_at"] = data["promised_at"].replace(tzinfo=None)
                data["promised_at"] = timezone.make_aware(data["promised_at"], handover.store.zone)
            try:
                services.handover_update(actor=request.user, handover=handover, data=data)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Handover sheet saved."))
                return redirect("reception:sheet", pk)
        form.check_rest(lambda data: services.handover_check(handover=handover, data=data))
    return render(request, "reception/sheet.html", _sheet_context(request, handover, form))


def _act(request: HttpRequest, pk: int, fn: Any, done: str) -> HttpResponse:
    handover = found(selectors.handover_get, request.user, pk)
    try:
        result = fn(handover)
    except DomainError as exc:
        for message in exc.messages():  # everything still missing, at once
            messages.error(request, message)
    else:
        if done:
            messages.success(request, done % {"n": getattr(result, "number", "")} if "%(n)s" in done else done)
    return redirect("reception:sheet", pk)


@login_required
@permission_required("reception.change_handover", raise_exception=True)
@require_POST
def mark_add(request: HttpRequest, pk: int) -> HttpResponse:
    p = request.POST
    return _act(request, pk, lambda h: services.damage_mark_add(
        actor=request.user, handover=h, x=p.get("x"), y=p.get("y"), kind=p.get("kind", ""), note=p.get("note", "")
    ), "")


@login_required
@permission_required("reception.change_handover", raise_exception=True)
@require_POST
def mark_remove(request: HttpRequest, pk: int, mark_id: int) -> HttpResponse:
    handover = found(selectors.handover_get, request.user, pk)
    mark = found(get_or_404, DamageMark.objects.select_related("handover"), pk=mark_id, handover=handover)
    return _act(request, pk, lambda h: services.damage_mark_remove(actor=request.user, mark=mark), "")


@login_required
@permission_required("reception.change_handover", raise_exception=True)
@require_POST
def photo_add(request: HttpRequest, pk: int) -> HttpResponse:
    upload = request.FILES.get("photo")
    handover = found(selectors.handover_get, request.user, pk)
    mark = None
    if request.POST.get("mark"):
        mark = found(get_or_404, DamageMark.objects.all(), pk=_int(request.POST.get("mark")), handover=handover)
    if upload is None:
        messages.error(request, _("Choose a photo to upload."))
        return redirect("reception:sheet", pk)
    if upload.size and upload.size > 64 * 1024 * 1024:
        messages.error(request, _("The file is too large."))
        return redirect("reception:sheet", pk)
    return _act(request, pk, lambda h: services.photo_add(
        actor=request.user, handover=h, content=upload.read(), caption=request.POST.get("caption", ""), mark=mark
    ), _("Photo added."))


@login_required
@permission_required("reception.change_handover", raise_exception=True)
@require_POST
def sign_on_screen(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda h: services.handover_sign(
        actor=request.user, handover=h, signature=request.POST.get("signature", ""),
        signer_name=request.POST.get("signer_name", ""), via=SignedVia.SCREEN,
    ), _("Signed by the customer."))


@login_required
@permission_required("reception.change_handover", raise_exception=True)
@require_POST
def request_link(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda h: services.handover_request_signature(actor=request.user, handover=h),
                _("The signing link was sent to the customer's phone."))


@login_required
@permission_required("reception.change_handover", raise_exception=True)
@require_POST
def open_order(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda h: services.handover_open_order(actor=request.user, handover=h),
                _("Repair order %(n)s opened."))


@login_required
@permission_required("reception.view_handover", raise_exception=True)
def handover_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from .pdf import handover_pdf as render_pdf

    handover = found(selectors.handover_get, request.user, pk)
    lang = request.GET.get("lang") or "zh-hans"
    if lang not in ("zh-hans", "en"):
        lang = "zh-hans"
    response = HttpResponse(render_pdf(handover, lang), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="handover-{handover.pk}-{lang}.pdf"'
    return response


# ---- the customer's page (no login) -------------------------------------------------------------------------------
def customer_sign(request: HttpRequest, token: str) -> HttpResponse:
    """The customer reads the sheet on their phone and signs it; the link stops working once signed or changed."""
    from django.utils import translation

    try:
        handover = services.handover_from_token(token)
    except NotFound as exc:
        return render(request, "reception/public_message.html", {"message": exc.message}, status=404)
    except DomainError as exc:
        return render(request, "reception/public_message.html", {"message": exc.message}, status=410)
    language = getattr(handover.customer, "language", "") or "zh-hans"
    if request.GET.get("lang") in ("zh-hans", "en"):
        language = request.GET["lang"]
    translation.activate(language)
    error = ""
    if request.method == "POST":
        try:
            services.handover_sign(
                handover=handover, signature=request.POST.get("signature", ""), signer_name=request.POST.get("signer_name", ""),
                via=SignedVia.LINK, token=token,
            )
        except DomainError as exc:
            error = str(exc.message)
        else:
            return render(request, "reception/public_message.html", {"message": _("Thank you, the handover sheet is signed."), "ok": True})
    if handover.status == HandoverStatus.SIGNED:
        return render(request, "reception/public_message.html", {"message": _("This sheet is already signed. Thank you."), "ok": True})
    return render(request, "reception/public_sign.html", {
        "h": handover, "marks": list(handover.marks.all()), "error": error, "language": language, "token": token,
    })
