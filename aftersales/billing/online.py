"""The customer's online payment page, shared by the signed pay link (``/billing/pay/<token>/``) and the owner app
(``/app/orders/<id>/pay/``): which ways to pay fit this browser, start one, and what to show on the way back.

``pay_flow(request, invoice, here)`` returns either a redirect (to the provider's cashier) or the context for the
page; the callers render it in their own frame. The provider's notification is the truth; on the way back the page
also asks the provider once (so a lost notification does not leave the customer looking at "waiting").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.errors import DomainError, ValidationFailed

from . import services
from .models import MerchantAccount, OnlinePayment


def browser_kind(request: HttpRequest) -> str:
    """"wechat" (WeChat's built-in browser), "mobile" or "desktop", from the User-Agent."""
    agent = request.headers.get("User-Agent", "")
    if "MicroMessenger" in agent:
        return "wechat"
    if any(word in agent for word in ("Mobile", "Android", "iPhone", "iPad")):
        return "mobile"
    return "desktop"


def channels_for(invoice: Any, browser: str) -> list[tuple[str, str]]:
    """The ways to pay this store takes, in the form that works in this browser: (channel, button text)."""
    providers = set(
        MerchantAccount.objects.filter(store_id=invoice.store_id, enabled=True).values_list("provider", flat=True)
    )
    found: list[tuple[str, str]] = []
    if "wechat" in providers:
        wechat = {"wechat": "wechat_jsapi", "mobile": "wechat_h5", "desktop": "wechat_native"}[browser]
        found.append((wechat, _("Pay with WeChat Pay")))
    if "alipay" in providers and browser != "wechat":  # WeChat's browser does not open Alipay
        found.append(("alipay_page" if browser == "desktop" else "alipay_wap", _("Pay with Alipay")))
    return found


def qr_svg(text: str) -> str:
    """The QR code of WeChat Pay's ``code_url`` as inline SVG (segno; no image files, no outside service)."""
    import segno

    return str(segno.make(text, error="m").svg_inline(scale=6, border=2, title=_("QR code for WeChat Pay")))


#: where a payment form's submission may end up: the payment platforms' cashier pages (our view answers the form with a
#: redirect there, and Chromium applies the page's form-action to the redirect)
PAYMENT_FORM_TARGETS = ("https://wx.tenpay.com", "https://*.tenpay.com", "https://openapi.alipay.com",
                        "https://mclient.alipay.com", "https://*.alipay.com")


def allow_payment_redirects(response: HttpResponse) -> HttpResponse:
    """The pay page's Content-Security-Policy: the usual one, with the payment platforms (and the configured
    gateways, e.g. local fakes in tests) added to form-action."""
    from urllib.parse import urlsplit

    from django.conf import settings

    from aftersales.common.middleware import DEFAULT_CSP

    from . import providers

    origins = set(PAYMENT_FORM_TARGETS)
    for gateway in (getattr(settings, "WECHATPAY_GATEWAY", "") or providers.WECHATPAY_GATEWAY,
                    getattr(settings, "ALIPAY_GATEWAY", "") or providers.ALIPAY_GATEWAY):
        parts = urlsplit(gateway)
        if parts.scheme and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}")
    policy = getattr(settings, "AFTERSALES_CSP", "") or DEFAULT_CSP
    response["Content-Security-Policy"] = policy.replace("form-action 'self'",
                                                         "form-action 'self' " + " ".join(sorted(origins)))
    return response


def pay_flow(request: HttpRequest, invoice: Any, here: str) -> HttpResponse | dict[str, Any]:
    """``here``: this page's own path (the provider sends the payer back to it)."""
    browser = browser_kind(request)
    channels = channels_for(invoice, browser)
    ctx: dict[str, Any] = {"invoice": invoice, "order": invoice.order, "channels": channels, "errors": {}, "here": here,
                           "browser": browser, "online": None, "status": 200}
    back_no = request.GET.get("o", "")
    if back_no:
        online = OnlinePayment.objects.filter(invoice=invoice, out_trade_no=back_no[:32]).select_related("merchant").first()
        fresh = online is not None and online.checked_at and timezone.now() - online.checked_at < dt.timedelta(seconds=10)
        if online is not None and online.status == OnlinePayment.Status.PENDING and not fresh:
            online = services.online_payment_check(online=online)
        ctx["online"] = online
    if request.method == "POST":
        channel = request.POST.get("channel", "")
        try:
            online = start_online(request, invoice, channel, here, channels)
        except DomainError as exc:
            ctx["errors"] = {str(exc.field or "general"): str(exc.message)}
            ctx["status"] = getattr(exc, "status", 422)
            invoice.refresh_from_db()
            ctx["can_pay"] = invoice.status == "issued" and invoice.balance > 0
            return ctx
        prepay = online.prepay
        if prepay is not None and prepay.kind == "redirect":
            return HttpResponseRedirect(prepay.url)
        ctx["online"] = online
        if prepay is not None and prepay.kind == "qr":
            ctx["qr"] = qr_svg(prepay.url)
        elif prepay is not None and prepay.kind == "jsapi":
            ctx["jsapi"] = prepay.params
    invoice.refresh_from_db()
    online = ctx["online"]
    ctx["can_pay"] = (invoice.status == "issued" and invoice.balance > 0
                      and (online is None or online.status != OnlinePayment.Status.PENDING))
    return ctx


def start_online(request: HttpRequest, invoice: Any, channel: str, here: str,
                 channels: list[tuple[str, str]] | None = None) -> Any:
    """Start paying the balance through ``channel`` (one of the ways that fit this browser): the pending payment
    and the provider's prepay answer (``online.prepay``). ``here``: where the provider sends the payer back."""
    if channels is None:
        channels = channels_for(invoice, browser_kind(request))
    if channel not in {c for c, _label in channels}:
        raise ValidationFailed("invalid_choice", _("Choose a way to pay."), "channel")
    provider = "wechat" if channel.startswith("wechat") else "alipay"
    merchant = services._merchant(invoice.store_id, provider)
    return services.online_payment_start(
        invoice=invoice, channel=channel,
        notify_url=request.build_absolute_uri(reverse(f"billing:{provider}_notify", args=[merchant.pk])),
        # the provider sends the payer back here with our order number: the page shows (and checks) it
        return_url=request.build_absolute_uri(here) + "?o={out_trade_no}",
        client_ip=_client_ip(request), openid=getattr(invoice.customer, "wechat_openid", ""),
    )


def _client_ip(request: HttpRequest) -> str:
    from aftersales.common import throttle

    return throttle.client_ip(request)


def refund_notify_url(request: HttpRequest, payment: Any) -> str:
    """Where WeChat Pay tells us about the refund of this online payment (its store's merchant account); "" when the
    payment was not made through a merchant account (the refund is then refused by the service anyway)."""
    online = OnlinePayment.objects.filter(payment_id=payment.pk).first()
    if online is None or not online.merchant_id:
        return ""
    return request.build_absolute_uri(reverse("billing:wechat_refund_notify", args=[online.merchant_id]))
