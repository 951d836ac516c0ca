"""Staff screens for billing: the cashier's screen (invoices to issue, collect and refund), an invoice with its
payments (split), refunds and credit notes, an order's billing section, the delivery checklist, the delivery
documents (PDF) and the vehicle's electronic repair archive. Thin views: selectors read, services write."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError
from aftersales.common.scoping import visible_store_ids
from aftersales.common.views import found, store_from_request

from . import selectors, services
from .choices import DocumentKind
from .documents import DOCUMENT_PERMISSIONS, LANGUAGES, documents_for, render_document
from .forms import CreditForm, CreditNoteForm, DeliveryForm, PaymentForm, RefundForm


def _order(request: HttpRequest, pk: int) -> Any:
    from aftersales.workshop.selectors import order_get

    return found(order_get, request.user, pk)


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("name", "id"))


@login_required
@permission_required("billing.view_invoice", raise_exception=True)
def cashier(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    queue = selectors.cashier_queue(request.user, store)
    completeness = selectors.archive_completeness(request.user, store)
    return render(request, "billing/cashier.html", {
        "store": store, "stores": _stores(request.user), "queue": queue, "completeness": completeness,
    })


def _loyalty_form() -> Any:
    from .forms import LoyaltyPaymentForm

    return LoyaltyPaymentForm()


def _provider_refunds(invoice: Any) -> list[Any]:
    from .models import ProviderRefund

    return list(ProviderRefund.objects.filter(payment__invoice=invoice).order_by("-requested_at")[:20])


def _invoice_page(request: HttpRequest, pk: int, status: int = 200, **forms: Any) -> HttpResponse:
    invoice = found(selectors.invoice_detail, request.user, pk)
    ctx = {
        "invoice": invoice, "order": invoice.order,
        "payment_form": forms.get("payment_form") or PaymentForm(initial={
            "amount": invoice.balance if invoice.balance > 0 else "", **({"method": "transfer"} if invoice.to_insurer else {})}),
        "refund_form": forms.get("refund_form"), "refund_payment": forms.get("refund_payment"),
        "credit_note_form": forms.get("credit_note_form") or CreditNoteForm(),
        "loyalty_form": forms.get("loyalty_form") or _loyalty_form(),
        "points_balance": invoice.customer.points_balance,
        "new_refund_key": RefundForm().initial["idempotency_key"],
        "provider_refunds": _provider_refunds(invoice),
        "pay_link": "" if invoice.to_insurer else request.build_absolute_uri(
            reverse("billing:pay_online", args=[services.pay_link_token(invoice)])),
    }
    return render(request, "billing/invoice.html", ctx, status=status)


@login_required
@permission_required("billing.view_invoice", raise_exception=True)
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _invoice_page(request, pk)


@login_required
@require_POST
@permission_required("billing.add_invoice", raise_exception=True)
def invoice_issue(request: HttpRequest, order_pk: int) -> HttpResponse:
    order = _order(request, order_pk)
    try:
        invoice = services.invoice_issue(actor=request.user, order=order)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("billing:order", pk=order.pk)
    messages.success(request, _("Invoice %(n)s issued.") % {"n": invoice.number})
    return redirect("billing:invoice", pk=invoice.pk)


@login_required
@require_POST
@permission_required("billing.add_payment", raise_exception=True)
def payment_add(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = found(selectors.invoice_get, request.user, pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            payment = services.payment_record(
                actor=request.user, invoice=invoice, method=d["method"], amount=d["amount"],
                idempotency_key=d["idempotency_key"], reference=d["reference"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Payment of ¥%(a)s recorded.") % {"a": payment.amount})
            return redirect("billing:invoice", pk=invoice.pk)
    return _invoice_page(request, pk, status=422, payment_form=form)


@login_required
@require_POST
@permission_required("billing.add_payment", raise_exception=True)
def loyalty_payment_add(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's points or one of their vouchers against the balance."""
    from .forms import LoyaltyPaymentForm

    invoice = found(selectors.invoice_get, request.user, pk)
    form = LoyaltyPaymentForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            if d.get("points"):
                payment = services.invoice_pay_with_points(
                    actor=request.user, invoice=invoice, points=d["points"], idempotency_key=d["idempotency_key"]
                )
            else:
                payment = services.invoice_pay_with_voucher(
                    actor=request.user, invoice=invoice, code=d["code"], idempotency_key=d["idempotency_key"]
                )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Payment of ¥%(a)s recorded.") % {"a": payment.amount})
            return redirect("billing:invoice", pk=invoice.pk)
    return _invoice_page(request, pk, status=422, loyalty_form=form)


@login_required
@require_POST
@permission_required("billing.add_refund", raise_exception=True)
def refund_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a refund against one payment (cash, card, points, voucher…)."""

    def record(payment: Any, d: dict[str, Any]) -> None:
        services.refund_record(actor=request.user, payment=payment, amount=d["amount"], reason=d["reason"],
                               idempotency_key=d["idempotency_key"])
        messages.success(request, _("Refund recorded."))

    return _refund_form(request, pk, record)


def _refund_form(request: HttpRequest, pk: int, act: Any) -> HttpResponse:
    """The refund form of the invoice page (both kinds): the invoice and the chosen payment of it (another
    invoice's payment: 404), then ``act(payment, cleaned_data)``; a domain error goes on its field (422)."""
    invoice = found(selectors.invoice_get, request.user, pk)
    form = RefundForm(request.POST)
    payment = None
    if form.is_valid():
        d = form.cleaned_data
        payment = found(selectors.payment_get, request.user, d["payment"])
        if payment.invoice_id != invoice.pk:
            raise Http404
        try:
            act(payment, d)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            return redirect("billing:invoice", pk=invoice.pk)
    return _invoice_page(request, pk, status=422, refund_form=form, refund_payment=payment)


@login_required
@require_POST
@permission_required("billing.add_refund", raise_exception=True)
def refund_online_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Refund an online payment through WeChat Pay / Alipay (the money goes back where it came from)."""
    from . import online
    from .models import ProviderRefund

    def send(payment: Any, d: dict[str, Any]) -> None:
        result = services.online_refund_start(
            actor=request.user, payment=payment, amount=d["amount"], reason=d["reason"],
            idempotency_key=d["idempotency_key"], notify_url=online.refund_notify_url(request, payment),
        )
        if result.status == ProviderRefund.Status.SUCCEEDED:
            messages.success(request, _("Refunded to the customer's account."))
        elif result.status == ProviderRefund.Status.PENDING:
            messages.info(request, _("Refund sent to the payment service; it is recorded once the service confirms it."))
        else:
            messages.error(request, _("The payment service refused the refund. Nothing was recorded."))

    return _refund_form(request, pk, send)


@csrf_exempt
@require_POST
def wechat_refund_notify(request: HttpRequest, merchant_id: int) -> HttpResponse:
    """A store's WeChat Pay v3 refund notification (REFUND.SUCCESS / ABNORMAL / CLOSED): verified with that account's
    keys, then settled once (a replay answers SUCCESS and changes nothing)."""
    from .providers import wechat_refund_notification
    from .wechatpay import NotifyRejected

    merchant = _merchant_or_404(merchant_id, "wechat")
    try:
        data = wechat_refund_notification(merchant, request.headers, request.body)
    except NotifyRejected as exc:
        return JsonResponse({"code": "FAIL", "message": str(exc)}, status=401 if exc.code != "bad_resource" else 400)
    try:
        if data["refund_status"] == "SUCCESS":
            services.online_refund_confirm(
                out_refund_no=str(data["out_refund_no"]), refund_id=str(data.get("refund_id", "")),
                refund_fen=int((data.get("amount") or {}).get("refund") or 0), merchant_id=merchant.pk,
            )
        elif data["refund_status"] in ("ABNORMAL", "CLOSED"):
            services.online_refund_fail(out_refund_no=str(data["out_refund_no"]), note=str(data["refund_status"]))
    except DomainError as exc:
        return JsonResponse({"code": "FAIL", "message": str(exc.message)}, status=400)
    return JsonResponse({"code": "SUCCESS", "message": "OK"})


@login_required
@require_POST
@permission_required("billing.add_creditnote", raise_exception=True)
def credit_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = found(selectors.invoice_get, request.user, pk)
    form = CreditNoteForm(request.POST)
    if form.is_valid():
        try:
            note = services.credit_note_issue(
                actor=request.user, invoice=invoice, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Credit note %(n)s issued.") % {"n": note.number})
            return redirect("billing:invoice", pk=invoice.pk)
    return _invoice_page(request, pk, status=422, credit_note_form=form)


def _order_page(request: HttpRequest, order: Any, status: int = 200, **extra: Any) -> HttpResponse:
    billing = selectors.order_billing(request.user, order)
    ctx = {
        "order": order, "billing": billing, "credit_form": extra.get("credit_form") or CreditForm(),
        "delivery_form": extra.get("delivery_form") or DeliveryForm(),
        "documents": documents_for(request.user), "languages": LANGUAGES,
    }
    return render(request, "billing/order.html", ctx, status=status)


@login_required
@permission_required("workshop.view_repairorder", raise_exception=True)
def order_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_page(request, _order(request, pk))


@login_required
@require_POST
@permission_required("billing.add_deliverycredit", raise_exception=True)
def credit_allow(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    form = CreditForm(request.POST)
    if form.is_valid():
        try:
            services.delivery_credit_allow(actor=request.user, order=order, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Delivery on credit allowed."))
            return redirect("billing:order", pk=order.pk)
    return _order_page(request, order, status=422, credit_form=form)


@login_required
@permission_required("workshop.change_repairorder", raise_exception=True)
def deliver(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery checklist: each job explained, replaced parts, old parts, car state, warranty."""
    order = _order(request, pk)
    if request.method != "POST":
        return _order_page(request, order)
    form = DeliveryForm(request.POST)
    if form.is_valid():
        try:
            services.order_deliver(actor=request.user, order=order, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("The car has been delivered."))
            return redirect("billing:order", pk=order.pk)
    return _order_page(request, order, status=422, delivery_form=form)


@login_required
@permission_required("workshop.view_repairorder", raise_exception=True)
def document(request: HttpRequest, pk: int, kind: str, language: str) -> HttpResponse:
    if kind not in DocumentKind.values or language not in LANGUAGES:
        raise Http404
    if not request.user.has_perm(DOCUMENT_PERMISSIONS[DocumentKind(kind)]):
        raise PermissionDenied
    order = _order(request, pk)
    pdf = render_document(order=order, kind=kind, language=language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{order.number}-{kind}-{language}.pdf"'
    return response


@login_required
@permission_required(selectors.RECEIVABLES_PERMISSION, raise_exception=True)
def insurer_document(request: HttpRequest, pk: int, language: str) -> HttpResponse:
    """The invoice addressed to the insurer, as PDF in either language (cashier and manager of its store)."""
    from .documents import render_insurer_invoice

    if language not in LANGUAGES:
        raise Http404
    invoice = found(selectors.invoice_get, request.user, pk)
    if not invoice.to_insurer:
        raise Http404
    pdf = render_insurer_invoice(invoice=invoice, language=language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number}-{language}.pdf"'
    return response


@login_required
@permission_required(selectors.RECEIVABLES_PERMISSION, raise_exception=True)
def receivables(request: HttpRequest) -> HttpResponse:
    """The store's open invoices to insurers, oldest first, with their age: what the cashier chases."""
    store = store_from_request(request)
    data = selectors.insurer_receivables(request.user, store)
    return render(request, "billing/receivables.html", {"store": store, "stores": _stores(request.user), "data": data})


@login_required
@permission_required("workshop.view_repairorder", raise_exception=True)
def vehicle_archive(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle, entries = found(selectors.vehicle_archive, request.user, pk)
    return render(request, "billing/archive.html", {
        "vehicle": vehicle, "entries": entries, "documents": documents_for(request.user), "languages": LANGUAGES,
    })


# ---- the customer's pay link (no login: a signed token) and the provider's notification -------------------------
def pay_online(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's page (no login, phone-sized): the invoice, its balance and the ways to pay online that this
    store takes, in the form that fits the browser (WeChat Pay JSAPI / H5 / Native QR, Alipay wap / page)."""
    from django.utils import translation

    from .online import allow_payment_redirects, pay_flow

    try:
        invoice = services.pay_link_invoice(token)
    except DomainError as exc:
        return render(request, "billing/pay.html", {"error": str(exc.message)}, status=404)
    language = request.GET.get("lang") or invoice.customer.language or "zh-hans"
    language = language if language in LANGUAGES else "zh-hans"
    with translation.override(language):
        result = pay_flow(request, invoice, request.path)
        if isinstance(result, HttpResponse):
            return result
        return allow_payment_redirects(
            render(request, "billing/pay.html", {**result, "language": language}, status=result["status"]))


@csrf_exempt
@require_POST
def wechatpay_notify(request: HttpRequest) -> HttpResponse:
    """WeChat Pay v3 payment notification: verified (signature, timestamp, serial), decrypted, recorded once."""
    from .wechatpay import NotifyRejected, verify_and_decrypt

    try:
        tx = verify_and_decrypt(request.headers, request.body)
    except NotifyRejected as exc:
        return JsonResponse({"code": "FAIL", "message": str(exc)}, status=401 if exc.code != "bad_resource" else 400)
    if tx.trade_state != "SUCCESS":
        return JsonResponse({"code": "SUCCESS", "message": "ignored"})
    try:
        services.online_payment_confirm(out_trade_no=tx.out_trade_no, transaction_id=tx.transaction_id, total_fen=tx.total_fen)
    except DomainError as exc:
        return JsonResponse({"code": "FAIL", "message": str(exc.message)}, status=400)
    return JsonResponse({"code": "SUCCESS", "message": "OK"})


def _merchant_or_404(pk: int, provider: str) -> Any:
    from .models import MerchantAccount

    merchant = MerchantAccount.objects.filter(pk=pk, provider=provider).first()
    if merchant is None:
        raise Http404
    return merchant


@csrf_exempt
@require_POST
def wechat_notify(request: HttpRequest, merchant_id: int) -> HttpResponse:
    """A store's WeChat Pay v3 notification: verified with that merchant account's platform key and APIv3 key, the
    order must be one of that account's, then recorded once (a replay answers SUCCESS and changes nothing)."""
    from .providers import wechat_notification
    from .wechatpay import NotifyRejected

    merchant = _merchant_or_404(merchant_id, "wechat")
    try:
        tx = wechat_notification(merchant, request.headers, request.body)
    except NotifyRejected as exc:
        return JsonResponse({"code": "FAIL", "message": str(exc)}, status=401 if exc.code != "bad_resource" else 400)
    if tx.trade_state != "SUCCESS":
        return JsonResponse({"code": "SUCCESS", "message": "ignored"})
    try:
        services.online_payment_confirm(out_trade_no=tx.out_trade_no, transaction_id=tx.transaction_id,
                                        total_fen=tx.total_fen, merchant_id=merchant.pk)
    except DomainError as exc:
        return JsonResponse({"code": "FAIL", "message": str(exc.message)}, status=400)
    return JsonResponse({"code": "SUCCESS", "message": "OK"})


@csrf_exempt
@require_POST
def alipay_notify(request: HttpRequest, merchant_id: int) -> HttpResponse:
    """A store's Alipay asynchronous notification: RSA2-verified with that account's Alipay public key; Alipay
    retries until it reads the plain text ``success``."""
    from .providers import alipay_notification
    from .wechatpay import NotifyRejected

    merchant = _merchant_or_404(merchant_id, "alipay")
    try:
        tx = alipay_notification(merchant, request.POST)
    except NotifyRejected:
        return HttpResponse("fail", content_type="text/plain", status=400)
    refund_no = request.POST.get("out_biz_no", "")
    if refund_no and request.POST.get("refund_fee"):  # a refund's notification: settle our refund request once
        from .models import ProviderRefund

        if ProviderRefund.objects.filter(out_refund_no=refund_no[:32], online__merchant_id=merchant.pk).exists():
            try:
                services.online_refund_confirm(out_refund_no=refund_no[:32], refund_id=tx.transaction_id, refund_fen=0,
                                               merchant_id=merchant.pk)
            except DomainError:
                return HttpResponse("fail", content_type="text/plain", status=400)
        return HttpResponse("success", content_type="text/plain")
    if tx.trade_state != "SUCCESS":
        return HttpResponse("success", content_type="text/plain")
    try:
        services.online_payment_confirm(out_trade_no=tx.out_trade_no, transaction_id=tx.transaction_id,
                                        total_fen=tx.total_fen, merchant_id=merchant.pk)
    except DomainError:
        return HttpResponse("fail", content_type="text/plain", status=400)
    return HttpResponse("success", content_type="text/plain")


# ---- merchant accounts per store (secrets are written, never shown back) -----------------------------------------
@login_required
@permission_required("billing.change_merchantaccount", raise_exception=True)
def merchants(request: HttpRequest) -> HttpResponse:
    from .models import MerchantAccount

    stores = _stores(request.user)
    store = store_from_request(request)
    accounts = {a.provider: a for a in MerchantAccount.objects.filter(store=store)}
    errors: dict[str, dict[str, str]] = {}
    posted: dict[str, Any] = {}
    if request.method == "POST":
        provider = request.POST.get("provider", "")
        posted = {provider: request.POST}
        try:
            services.merchant_account_save(actor=request.user, store=store, provider=provider, data={
                **{k: request.POST.get(k, "") for k in ("merchant_id", "app_id", "merchant_serial", "private_key",
                                                         "api_v3_key", "platform_public_key", "platform_key_id")},
                "enabled": request.POST.get("enabled") == "on",
            })
        except DomainError as exc:
            errors[provider] = exc.extra.get("errors") or {str(exc.field or "general"): str(exc.message)}
        else:
            messages.success(request, _("Merchant account saved."))
            return redirect(f"{reverse('billing:merchants')}?store={store.pk}")
    forms = []
    for provider, label in MerchantAccount.Provider.choices:
        account = accounts.get(provider)
        values = posted.get(provider) or {}
        forms.append({
            "provider": provider, "label": label, "account": account, "errors": errors.get(provider, {}),
            "values": {k: values.get(k, getattr(account, k, "") if account else "") for k in (
                "merchant_id", "app_id", "merchant_serial", "platform_public_key", "platform_key_id")},
            "enabled": (values.get("enabled") == "on") if values else (account.enabled if account else True),
        })
    return render(request, "billing/merchants.html", {"stores": stores, "store": store, "forms": forms},
                  status=422 if errors else 200)
