"""The staff UI: thin views that read through selectors and write through services."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common import demo_login, throttle
from aftersales.common.errors import Conflict, DomainError, NotFound
from aftersales.common.models import WorkerHeartbeat
from aftersales.common.scoping import default_store
from aftersales.common.templatetags.aftersales import phone_for_user
from aftersales.common.validators import normalize_mobile
from aftersales.common.views import found as _found
from aftersales.customers import selectors as customer_selectors
from aftersales.customers import services as customer_services
from aftersales.customers.choices import ConsentPurpose, ConsentSource
from aftersales.staff.roles import Role
from aftersales.staff.selectors import staff_actable_by, staff_with_role, token_get, tokens_visible_to
from aftersales.staff.services import token_create, token_revoke, user_set_language
from aftersales.vehicles import selectors as vehicle_selectors
from aftersales.vehicles import services as vehicle_services

from .customer360 import customer_360
from .forms import (
    ConsentForm,
    CustomerForm,
    MileageForm,
    NewCustomerForm,
    NewVehicleForm,
    TokenForm,
    TransferForm,
    VehicleForm,
)

phone_for = phone_for_user  # the helper lives in common (lower apps' views use it too)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("customers.view_customer") and request.user.has_perm("mobility.change_trip"):
        return redirect("mobility:driver")  # a pickup driver's home is their trips (the role sees no customers)
    q = request.GET.get("q", "").strip()
    results = customer_selectors.customer_search(request.user, q) if q and request.user.has_perm("customers.view_customer") else []
    return render(request, "web/home.html", {"q": q, "results": _result_rows(request.user, results)})


def _result_rows(user: Any, customers: list[Any]) -> list[dict[str, Any]]:
    return [{"customer": c, "phone": phone_for(user, c.mobile), "vehicles": list(c.vehicles.all())} for c in customers]


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """The search box's live results (htmx partial); a full page when opened directly."""
    q = request.GET.get("q", "").strip()
    results = customer_selectors.customer_search(request.user, q) if q and request.user.has_perm("customers.view_customer") else []
    template = "web/_search_results.html" if request.htmx else "web/home.html"
    return render(request, template, {"q": q, "results": _result_rows(request.user, results)})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    incomplete = request.GET.get("incomplete") == "1"
    qs = customer_selectors.customer_list(request.user, q=q, incomplete=incomplete).select_related("home_store")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = [{"customer": c, "phone": phone_for(request.user, c.mobile)} for c in page.object_list]
    return render(request, "web/customer_list.html", {"page": page, "rows": rows, "q": q, "incomplete": incomplete})


def _advisors(user: Any) -> list[Any]:
    return list(staff_with_role(user, Role.SERVICE_ADVISOR))


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_create(request: HttpRequest) -> HttpResponse:
    form = NewCustomerForm(request.POST or None, advisors=_advisors(request.user))
    conflict_id = None
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        consents = [
            {"purpose": ConsentPurpose.SERVICE, "channel": data["preferred_channel"], "granted": data.pop("service_consent"),
             "source": ConsentSource.IN_STORE},
            {"purpose": ConsentPurpose.MARKETING, "channel": data["preferred_channel"], "granted": data.pop("marketing_consent"),
             "source": ConsentSource.IN_STORE},
        ]
        try:
            customer = customer_services.customer_create(
                actor=request.user, store=default_store(request.user), consents=consents, **data
            )
        except Conflict as exc:
            form.add_domain_error(exc)
            conflict_id = exc.extra.get("existing_id")
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("web:customer_detail", customer.pk)
    form.check_rest(lambda data: customer_services.customer_check(actor=request.user, **_advisor_id(data)))
    return render(request, "web/customer_form.html", {"form": form, "conflict_id": conflict_id, "creating": True})


@login_required
@require_POST
@permission_required("customers.add_customer", raise_exception=True)
def customer_attach(request: HttpRequest) -> HttpResponse:
    """A group customer at another store: text them a code (or ask a manager) before this store sees their record."""
    try:
        attach = customer_services.customer_attach_request(
            actor=request.user, store=default_store(request.user), mobile=request.POST.get("mobile", "")
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("web:customer_create")
    if attach is None:  # already a customer here
        from aftersales.common.validators import normalize_mobile

        customer = customer_selectors.customers_visible_to(request.user).filter(
            mobile=normalize_mobile(request.POST.get("mobile", ""), "mobile")).first()
        return redirect("web:customer_detail", customer.pk) if customer else redirect("web:customer_create")
    return redirect("web:customer_attach_confirm", attach.pk)


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_attach_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.common.validators import mask_mobile

    attach = _found(customer_services.attach_request_get, request.user, pk)
    error: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.POST.get("approve"):
                customer = customer_services.customer_attach_approve(actor=request.user, request=attach,
                                                                     reason=request.POST.get("reason", ""))
            else:
                customer = customer_services.customer_attach_confirm(actor=request.user, request=attach,
                                                                     code=request.POST.get("code", ""))
        except DomainError as exc:
            if exc.status == 403:
                return HttpResponse(status=403)
            error = {"field": exc.field or "code", "message": str(exc.message)}
        else:
            messages.success(request, _("%(name)s is now also a customer of this store.") % {"name": customer.name})
            return redirect("web:customer_detail", customer.pk)
    masked = mask_mobile(attach.customer.mobile)
    return render(request, "web/customer_attach.html", {
        "attach": attach, "masked": masked, "error": error,
        "can_approve": request.user.has_perm("customers.approve_attach"),
    })


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _found(customer_selectors.customer_get, request.user, pk)
    initial = {
        "name": customer.name, "title": customer.title, "mobile": customer.mobile_display, "email": customer.email,
        "address": customer.address, "birthday": customer.birthday, "preferred_channel": customer.preferred_channel,
        "preferred_advisor": customer.preferred_advisor_id or "", "preferences": customer.preferences, "notes": customer.notes,
        "reminder_frequency": customer.reminder_frequency, "progress_frequency": customer.progress_frequency,
    }
    form = CustomerForm(request.POST or None, initial=initial, advisors=_advisors(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            customer_services.customer_update(actor=request.user, customer=customer, **form.service_data())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("web:customer_detail", customer.pk)
    form.check_rest(lambda data: customer_services.customer_check(actor=request.user, **_advisor_id(data)))
    return render(request, "web/customer_form.html", {"form": form, "customer": customer})


def _advisor_id(data: dict[str, Any]) -> dict[str, Any]:
    if "preferred_advisor" in data:
        data["preferred_advisor"] = int(data["preferred_advisor"]) if str(data["preferred_advisor"] or "").isdigit() else None
    return data


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    view = _found(customer_360, request.user, pk)  # assembled here, at the top, from each app's selectors
    customer = view.customer
    consent_rows = [
        {"purpose": c.get_purpose_display(), "channel": c.get_channel_display(), "granted": c.granted, "at": c.at,
         "source": c.get_source_display()}
        for c in view.current_consents.values()
    ]
    visits, totals = _history(request.user, view)
    from aftersales.care.selectors import care_dates_for

    zone = customer.home_store.zone if customer.home_store_id else timezone.get_current_timezone()
    today = timezone.localtime(timezone.now(), zone).date()
    return render(request, "web/customer_detail.html", {
        "v": view,
        "visits": visits,
        "totals": totals,
        "customer": customer,
        "phone": phone_for(request.user, customer.mobile),
        "consent_rows": consent_rows,
        "mileage_form": MileageForm(),
        "consent_form": ConsentForm(),
        "today": today,
        "care_dates": care_dates_for(view.vehicles, today=today),
    })


def _history(user: Any, view: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The visit history of the 360 page: our repair orders and the visits imported from the store's previous system,
    newest first, with totals over both (imported history is history)."""
    from aftersales.engagement.selectors import imported_visits_for

    imported, imported_totals = imported_visits_for(user, view.customer)
    rows: list[dict[str, Any]] = [
        {"date": timezone.localtime(o.opened_at, o.store.zone).date(), "order": o} for o in view.orders
    ] + [{"date": iv.visit_date, "imported": iv} for iv in imported]
    rows.sort(key=lambda r: r["date"], reverse=True)
    ours = view.totals
    last = ours.get("last_visit")
    lasts = [d for d in (timezone.localtime(last).date() if last else None, imported_totals["last_visit"]) if d]
    totals = {
        "visits": (ours.get("visits") or 0) + imported_totals["visits"],
        "imported_visits": imported_totals["visits"],
        "other_store_visits": (ours.get("other_store_visits") or 0) + imported_totals["other_store_visits"],
        "paid_total": ours["paid_total"] + imported_totals["paid_total"],
        "last_visit": max(lasts) if lasts else None,
    }
    return rows, totals


@login_required
@permission_required("customers.export_customer", raise_exception=True)
def customer_export(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _found(customer_selectors.customer_get, request.user, pk)
    data = customer_services.customer_export(actor=request.user, customer=customer)
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@login_required
@require_POST
@permission_required("customers.add_consent", raise_exception=True)
def consent_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _found(customer_selectors.customer_get, request.user, pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            customer_services.consent_record(actor=request.user, customer=customer, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Consent recorded."))
    else:
        messages.error(request, _("Please check the consent form."))
    return redirect("web:customer_detail", customer.pk)


@login_required
@permission_required("vehicles.add_vehicle", raise_exception=True)
def vehicle_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _found(customer_selectors.customer_get, request.user, pk)
    form = NewVehicleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vehicle_services.vehicle_create(actor=request.user, owner=customer, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
            if exc.code == "plate_on_other_vehicle":
                form.ask_plate_confirmation()
        else:
            messages.success(request, _("Vehicle added."))
            return redirect("web:customer_detail", customer.pk)
    form.check_rest(lambda data: vehicle_services.vehicle_check(actor=request.user, **data))
    return render(request, "web/vehicle_form.html", {"form": form, "customer": customer, "creating": True})


@login_required
@permission_required("vehicles.change_vehicle", raise_exception=True)
def vehicle_edit(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = _found(vehicle_selectors.vehicle_get, request.user, pk)
    initial = {f: getattr(vehicle, f) for f in VehicleForm.base_fields if f != "confirm_plate"}
    form = VehicleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            vehicle_services.vehicle_update(actor=request.user, vehicle=vehicle, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
            if exc.code == "plate_on_other_vehicle":
                form.ask_plate_confirmation()
        else:
            messages.success(request, _("Saved."))
            return redirect("web:customer_detail", vehicle.owner_id)
    form.check_rest(lambda data: vehicle_services.vehicle_check(actor=request.user, **data))
    return render(request, "web/vehicle_form.html", {"form": form, "customer": vehicle.owner, "vehicle": vehicle})


@login_required
@require_POST
@permission_required("vehicles.add_mileagereading", raise_exception=True)
def mileage_add(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = _found(vehicle_selectors.vehicle_get, request.user, pk)
    form = MileageForm(request.POST)
    if form.is_valid():
        try:
            vehicle_services.mileage_record(actor=request.user, vehicle=vehicle, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, f"{vehicle.plate or vehicle.vin}: {exc.message}")
        else:
            messages.success(request, _("Mileage recorded."))
    else:
        messages.error(request, _("Enter the mileage in whole kilometres."))
    return redirect("web:customer_detail", vehicle.owner_id)


@login_required
@permission_required("vehicles.transfer_vehicle", raise_exception=True)
def vehicle_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = _found(vehicle_selectors.vehicle_get, request.user, pk)
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            e164 = normalize_mobile(data["new_owner_mobile"], "new_owner_mobile")
            new_owner = customer_selectors.customers_visible_to(request.user).filter(mobile=e164).first()
            if new_owner is None:
                raise NotFound("owner_unknown", _("No customer of your stores has this mobile; create the customer first."), "new_owner_mobile")
            vehicle_services.vehicle_transfer(
                actor=request.user, vehicle=vehicle, new_owner=new_owner, on_date=data["on_date"], reason=data["reason"]
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Owner changed to %(name)s.") % {"name": new_owner.name})
            return redirect("web:customer_detail", new_owner.pk)
    return render(request, "web/vehicle_transfer.html", {"form": form, "vehicle": vehicle})


@login_required
@permission_required("customers.view_incomplete", raise_exception=True)
def data_quality(request: HttpRequest) -> HttpResponse:
    report = customer_selectors.completeness_report(request.user)
    qs = customer_selectors.customer_list(request.user, incomplete=True).select_related("home_store")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = [{"customer": c, "phone": phone_for(request.user, c.mobile)} for c in page.object_list]
    heartbeats = list(WorkerHeartbeat.objects.order_by("-seen_at")[:5])
    return render(request, "web/data_quality.html", {
        "report": report, "page": page, "rows": rows, "heartbeats": heartbeats,
        "shared_plates": vehicle_selectors.shared_plates(request.user),
    })


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    can_manage = user.has_perm("staff.manage_api_tokens")
    users = list(staff_actable_by(user).order_by("username")) if can_manage else []
    form = TokenForm(request.POST or None, users=users)
    new_key = None
    if request.method == "POST" and can_manage and form.is_valid():
        owner = next(u for u in users if str(u.pk) == form.cleaned_data["user"])
        try:
            _token, new_key = token_create(actor=user, user=owner, name=form.cleaned_data["name"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            form = TokenForm(users=users)
    return render(request, "web/tokens.html", {
        "tokens": tokens_visible_to(user).order_by("-created_at")[:100], "form": form, "can_manage": can_manage,
        "new_key": new_key,
    })


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = _found(token_get, request.user, pk)
    try:
        token_revoke(actor=request.user, token=token)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Token revoked."))
    return redirect("web:tokens")


@login_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    try:
        user_set_language(user=request.user, language=language)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        language = request.user.language
    translation.activate(language)
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = HttpResponseRedirect(target)
    response.set_cookie("django_language", language, samesite="Lax")
    return response


# ---- sign-in with a limit on failed attempts -----------------------------------------------------------------------
LOGIN_WINDOW = throttle.LOGIN_WINDOW
LOGIN_FAILURES_PER_ACCOUNT = throttle.LOGIN_FAILURES_PER_ACCOUNT
LOGIN_FAILURES_PER_ADDRESS = throttle.LOGIN_FAILURES_PER_ADDRESS


class ThrottledLoginView(auth_views.LoginView):
    """Django's sign-in page; after too many failed attempts from one address (for one username, or in all) the
    form refuses to check passwords until the window ends, saying how long to wait (HTTP 429)."""

    redirect_authenticated_user = True

    def _idents(self) -> list[tuple[str, str, int]]:
        ip = throttle.client_ip(self.request)
        username = (self.request.POST.get("username") or "").strip().lower()
        return [("login", f"{ip}|{username}", LOGIN_FAILURES_PER_ACCOUNT), ("login-ip", ip, LOGIN_FAILURES_PER_ADDRESS)]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            for scope, ident, limit in self._idents():
                throttle.check(scope, ident, limit=limit, window=LOGIN_WINDOW)
        except throttle.TooManyRequests as exc:
            form = self.get_form_class()(request)  # unbound: the password is never checked
            response = self.render_to_response(self.get_context_data(form=form, throttled=str(exc.message)), status=429)
            response["Retry-After"] = str(exc.extra["retry_after"])
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        for scope, ident, _limit in self._idents():
            throttle.record(scope, ident, window=LOGIN_WINDOW)
        if getattr(self.request, demo_login.REFUSED_ATTR, False):  # say why, not "wrong password" (issue 13, item 2)
            from django.forms.forms import NON_FIELD_ERRORS

            form._errors[NON_FIELD_ERRORS] = form.error_class([demo_login.refused_message()])
        return super().form_invalid(form)


class ThrottledAdminLoginView(ThrottledLoginView):
    """The admin site's sign-in with the same limits and the same counters as /login/ (issue 13, item 3)."""

    template_name = "admin/login.html"
    redirect_authenticated_user = False  # a signed-in non-staff user sees "not authorised", not a redirect loop

    def get_default_redirect_url(self) -> str:
        from django.urls import reverse

        return reverse("admin:index")

    def get_form_class(self) -> Any:
        from django.contrib.admin.forms import AdminAuthenticationForm

        return AdminAuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from django.contrib import admin

        context = {**admin.site.each_context(self.request), **super().get_context_data(**kwargs)}
        throttled = context.get("throttled")
        if throttled:  # the admin template shows the form's errors: say it there, without checking any password
            from django.forms.utils import ErrorDict

            form = context["form"]
            form._errors = ErrorDict({"__all__": form.error_class([throttled])})
        context.setdefault("site_header", admin.site.site_header)
        return context
