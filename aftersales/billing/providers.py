"""The payment providers, through their well-kept client libraries: WeChat Pay API v3 (``wechatpayv3``: JSAPI, H5,
Native) and Alipay (``python-alipay-sdk``: wap and page pay, RSA2).

Each call takes the store's :class:`~aftersales.billing.models.MerchantAccount` (every store is paid into its own
account). The gateways are settings (``WECHATPAY_GATEWAY``, ``ALIPAY_GATEWAY``) so that tests talk to local fakes that
speak the same protocol (``billing/tests/fakes.py``); in production they are the providers' own addresses.

Nothing here writes to the database: the services call these and record what they answer.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings

from .wechatpay import NotifyRejected, Transaction, verify_and_decrypt

WECHATPAY_GATEWAY = "https://api.mch.weixin.qq.com"
ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"
TIMEOUT = (5, 15)

WECHAT_CHANNELS = ("wechat_h5", "wechat_jsapi", "wechat_native")
ALIPAY_CHANNELS = ("alipay_wap", "alipay_page")


class ProviderError(Exception):
    """The provider refused or could not be reached; the message is for the log, never shown raw."""


@dataclass(frozen=True)
class Prepay:
    kind: str  # "redirect" (H5, Alipay), "qr" (Native: a code_url to show as a QR code), "jsapi" (WeixinJSBridge)
    url: str = ""
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryResult:
    state: str  # "paid", "pending" (not paid yet: may still be), "closed" (never will be)
    transaction_id: str = ""
    total_fen: int = 0


def provider_of(channel: str) -> str:
    return "wechat" if channel.startswith("wechat") else "alipay"


def fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


# ---- WeChat Pay v3 -------------------------------------------------------------------------------------------------
def wechat_client(merchant: Any, notify_url: str = "") -> Any:
    from wechatpayv3 import WeChatPay, WeChatPayType

    try:
        client = WeChatPay(
            wechatpay_type=WeChatPayType.H5, mchid=merchant.merchant_id, private_key=merchant.private_key,
            cert_serial_no=merchant.merchant_serial, appid=merchant.app_id, apiv3_key=merchant.api_v3_key,
            notify_url=notify_url or None, timeout=TIMEOUT,
            public_key=merchant.platform_public_key, public_key_id=merchant.platform_key_id,
        )
    except Exception as exc:  # the library raises bare Exceptions for bad keys
        raise ProviderError(f"wechat client: {exc}") from exc
    client._core._gate_way = getattr(settings, "WECHATPAY_GATEWAY", "") or WECHATPAY_GATEWAY
    return client


def _wechat_call(fn: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    try:
        code, message = fn(*args, **kwargs)
    except Exception as exc:  # network errors, a response whose signature does not verify
        raise ProviderError(f"wechat: {exc}") from exc
    try:
        data = json.loads(message) if message else {}
    except (TypeError, ValueError):
        data = {}
    return code, data


def wechat_prepay(
    *, merchant: Any, channel: str, out_trade_no: str, amount: Decimal, description: str, notify_url: str,
    return_url: str, client_ip: str, openid: str = "", expire: str = "",
) -> Prepay:
    from wechatpayv3 import WeChatPayType

    client = wechat_client(merchant, notify_url)
    kwargs: dict[str, Any] = {
        "description": description[:127], "out_trade_no": out_trade_no, "amount": {"total": fen(amount), "currency": "CNY"},
        "notify_url": notify_url,
    }
    if expire:
        kwargs["time_expire"] = expire
    if channel == "wechat_h5":
        kwargs.update(pay_type=WeChatPayType.H5,
                      scene_info={"payer_client_ip": client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}})
    elif channel == "wechat_native":
        kwargs.update(pay_type=WeChatPayType.NATIVE)
    elif channel == "wechat_jsapi":
        kwargs.update(pay_type=WeChatPayType.JSAPI, payer={"openid": openid})
    else:
        raise ProviderError(f"unknown channel {channel}")
    code, data = _wechat_call(client.pay, **kwargs)
    if code not in (200, 201):
        raise ProviderError(f"wechat prepay {code}: {data.get('code', '')} {data.get('message', '')}")
    if channel == "wechat_h5":
        from urllib.parse import quote

        url = str(data.get("h5_url", ""))
        if not url:
            raise ProviderError("wechat prepay: no h5_url")
        # WeChat sends the payer back to redirect_url after paying (or giving up)
        return Prepay("redirect", f"{url}&redirect_url={quote(return_url, safe='')}" if "?" in url
                      else f"{url}?redirect_url={quote(return_url, safe='')}")
    if channel == "wechat_native":
        url = str(data.get("code_url", ""))
        if not url:
            raise ProviderError("wechat prepay: no code_url")
        return Prepay("qr", url)
    prepay_id = str(data.get("prepay_id", ""))
    if not prepay_id:
        raise ProviderError("wechat prepay: no prepay_id")
    stamp, nonce, package = str(int(time.time())), secrets.token_hex(16), f"prepay_id={prepay_id}"
    sign = client.sign([merchant.app_id, stamp, nonce, package])
    return Prepay("jsapi", "", {
        "appId": merchant.app_id, "timeStamp": stamp, "nonceStr": nonce, "package": package, "signType": "RSA",
        "paySign": sign,
    })


def wechat_query(*, merchant: Any, out_trade_no: str) -> QueryResult:
    client = wechat_client(merchant)
    code, data = _wechat_call(client.query, out_trade_no=out_trade_no)
    if code == 404:  # ORDER_NOT_EXIST: the payer never reached WeChat Pay
        return QueryResult("closed")
    if code != 200:
        raise ProviderError(f"wechat query {code}: {data.get('code', '')}")
    state = str(data.get("trade_state", ""))
    total = int((data.get("amount") or {}).get("total") or 0)
    if state == "SUCCESS":
        return QueryResult("paid", str(data.get("transaction_id", "")), total)
    if state in ("CLOSED", "REVOKED", "PAYERROR"):
        return QueryResult("closed")
    return QueryResult("pending")  # NOTPAY, USERPAYING


def wechat_close(*, merchant: Any, out_trade_no: str) -> None:
    client = wechat_client(merchant)
    code, data = _wechat_call(client.close, out_trade_no=out_trade_no)
    if code not in (200, 204):
        raise ProviderError(f"wechat close {code}: {data.get('code', '')}")


def wechat_notification(merchant: Any, headers: Any, body: bytes) -> Transaction:
    """Verified (platform signature, key ID, timestamp within 5 minutes) and decrypted (AES-256-GCM, APIv3 key)."""
    tx = verify_and_decrypt(headers, body, keys=(merchant.platform_public_key, merchant.api_v3_key,
                                                 merchant.platform_key_id))
    if tx.mchid and tx.mchid != merchant.merchant_id:
        raise NotifyRejected("wrong_merchant", "the notification is for another merchant")
    return tx


@dataclass(frozen=True)
class RefundResult:
    state: str  # "succeeded", "pending" (the platform is still moving the money), "failed"
    refund_id: str = ""
    refund_fen: int = 0
    note: str = ""


def _wechat_refund_result(code: int, data: dict[str, Any]) -> RefundResult:
    if code not in (200, 201):
        return RefundResult("failed", note=f"{code} {data.get('code', '')} {data.get('message', '')}"[:300])
    status = str(data.get("status", ""))
    refund_fen = int((data.get("amount") or {}).get("refund") or 0)
    state = {"SUCCESS": "succeeded", "PROCESSING": "pending"}.get(status, "failed")
    return RefundResult(state, str(data.get("refund_id", "")), refund_fen, "" if state != "failed" else status)


def wechat_refund(
    *, merchant: Any, out_trade_no: str, out_refund_no: str, refund: Decimal, total: Decimal, reason: str, notify_url: str,
) -> RefundResult:
    """申请退款 (POST /v3/refund/domestic/refunds): the same ``out_refund_no`` never refunds twice at WeChat Pay."""
    client = wechat_client(merchant, notify_url)
    code, data = _wechat_call(
        client.refund, out_refund_no=out_refund_no, out_trade_no=out_trade_no, reason=reason[:80],
        amount={"refund": fen(refund), "total": fen(total), "currency": "CNY"}, notify_url=notify_url or None,
    )
    return _wechat_refund_result(code, data)


def wechat_refund_query(*, merchant: Any, out_refund_no: str) -> RefundResult:
    client = wechat_client(merchant)
    code, data = _wechat_call(client.query_refund, out_refund_no=out_refund_no)
    if code == 404:
        return RefundResult("failed", note="RESOURCE_NOT_EXISTS")
    return _wechat_refund_result(code, data)


def alipay_refund(*, merchant: Any, out_trade_no: str, out_refund_no: str, refund: Decimal, reason: str) -> RefundResult:
    """alipay.trade.refund (synchronous; ``out_request_no`` makes a partial refund idempotent at Alipay)."""
    client = alipay_client(merchant)
    try:
        data = client.api_alipay_trade_refund(
            refund_amount=f"{refund:.2f}", out_trade_no=out_trade_no, out_request_no=out_refund_no, refund_reason=reason[:256],
        )
    except Exception as exc:
        raise ProviderError(f"alipay refund: {exc}") from exc
    if str(data.get("code")) != "10000":
        return RefundResult("failed", note=f"{data.get('code')} {data.get('sub_code', '')}"[:300])
    return RefundResult("succeeded", str(data.get("trade_no", "")), fen(refund))


def alipay_refund_query(*, merchant: Any, out_trade_no: str, out_refund_no: str) -> RefundResult:
    client = alipay_client(merchant)
    try:
        data = client.api_alipay_trade_fastpay_refund_query(out_request_no=out_refund_no, out_trade_no=out_trade_no)
    except Exception as exc:
        raise ProviderError(f"alipay refund query: {exc}") from exc
    if str(data.get("code")) != "10000":
        raise ProviderError(f"alipay refund query: {data.get('code')} {data.get('sub_code', '')}")
    if str(data.get("refund_status", "")) == "REFUND_SUCCESS" or (data.get("refund_amount") and not data.get("refund_status")):
        return RefundResult("succeeded", str(data.get("trade_no", "")), fen(Decimal(str(data.get("refund_amount", "0")))))
    return RefundResult("failed", note="not refunded")


def wechat_refund_notification(merchant: Any, headers: Any, body: bytes) -> dict[str, Any]:
    """A refund notification (退款结果通知, REFUND.SUCCESS / ABNORMAL / CLOSED): verified and decrypted exactly as a
    payment notification; the decrypted resource (out_refund_no, refund_id, refund_status, amount.refund)."""
    from .wechatpay import decrypt_notification

    data = decrypt_notification(headers, body, keys=(merchant.platform_public_key, merchant.api_v3_key,
                                                     merchant.platform_key_id))
    if data.get("mchid") and data["mchid"] != merchant.merchant_id:
        raise NotifyRejected("wrong_merchant", "the notification is for another merchant")
    if not data.get("out_refund_no") or "refund_status" not in data:
        raise NotifyRejected("bad_resource", "not a refund")
    return data


# ---- Alipay --------------------------------------------------------------------------------------------------------
def alipay_client(merchant: Any) -> Any:
    from alipay import AliPay
    from alipay.utils import AliPayConfig

    try:
        client = AliPay(
            appid=merchant.app_id, app_private_key_string=merchant.private_key,
            alipay_public_key_string=merchant.platform_public_key, sign_type="RSA2", config=AliPayConfig(timeout=15),
        )
    except Exception as exc:
        raise ProviderError(f"alipay client: {exc}") from exc
    client._gateway = getattr(settings, "ALIPAY_GATEWAY", "") or ALIPAY_GATEWAY
    return client


def alipay_prepay(
    *, merchant: Any, channel: str, out_trade_no: str, amount: Decimal, subject: str, notify_url: str, return_url: str,
    expire: str = "",
) -> Prepay:
    client = alipay_client(merchant)
    extra = {"time_expire": expire} if expire else {}
    if channel == "alipay_wap":
        query = client.api_alipay_trade_wap_pay(
            subject=subject[:256], out_trade_no=out_trade_no, total_amount=f"{amount:.2f}", return_url=return_url,
            notify_url=notify_url, quit_url=return_url, **extra,
        )
    elif channel == "alipay_page":
        query = client.api_alipay_trade_page_pay(
            subject=subject[:256], out_trade_no=out_trade_no, total_amount=f"{amount:.2f}", return_url=return_url,
            notify_url=notify_url, **extra,
        )
    else:
        raise ProviderError(f"unknown channel {channel}")
    return Prepay("redirect", f"{client._gateway}?{query}")


def alipay_query(*, merchant: Any, out_trade_no: str) -> QueryResult:
    client = alipay_client(merchant)
    try:
        data = client.api_alipay_trade_query(out_trade_no=out_trade_no)
    except Exception as exc:
        raise ProviderError(f"alipay query: {exc}") from exc
    if str(data.get("code")) != "10000":
        if str(data.get("sub_code", "")).endswith("TRADE_NOT_EXIST"):
            return QueryResult("pending")  # not paid yet (Alipay creates the trade when the payer opens it)
        raise ProviderError(f"alipay query: {data.get('code')} {data.get('sub_code', '')}")
    state = str(data.get("trade_status", ""))
    if state in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        return QueryResult("paid", str(data.get("trade_no", "")), fen(Decimal(str(data.get("total_amount", "0")))))
    if state == "TRADE_CLOSED":
        return QueryResult("closed")
    return QueryResult("pending")


def alipay_close(*, merchant: Any, out_trade_no: str) -> None:
    client = alipay_client(merchant)
    try:
        data = client.api_alipay_trade_close(out_trade_no=out_trade_no)
    except Exception as exc:
        raise ProviderError(f"alipay close: {exc}") from exc
    if str(data.get("code")) != "10000" and not str(data.get("sub_code", "")).endswith("TRADE_NOT_EXIST"):
        raise ProviderError(f"alipay close: {data.get('code')} {data.get('sub_code', '')}")


def alipay_notification(merchant: Any, form: Any) -> Transaction:
    """An Alipay asynchronous notification (form fields): RSA2 signature over the sorted fields less sign and
    sign_type, with the Alipay public key; the app ID must be the store's."""
    data = {k: form.get(k) for k in form}
    signature = data.pop("sign", None)
    if not signature:
        raise NotifyRejected("unsigned", "missing sign")
    client = alipay_client(merchant)
    try:
        good = client.verify(dict(data), signature)
    except Exception as exc:
        raise NotifyRejected("bad_signature", "signature does not verify") from exc
    if not good:
        raise NotifyRejected("bad_signature", "signature does not verify")
    if data.get("app_id") != merchant.app_id:
        raise NotifyRejected("wrong_merchant", "the notification is for another app")
    try:
        total = fen(Decimal(str(data.get("total_amount", ""))))
    except Exception as exc:
        raise NotifyRejected("bad_resource", "bad amount") from exc
    state = str(data.get("trade_status", ""))
    return Transaction(
        out_trade_no=str(data.get("out_trade_no", "")), transaction_id=str(data.get("trade_no", "")),
        trade_state="SUCCESS" if state in ("TRADE_SUCCESS", "TRADE_FINISHED") else state, total_fen=total,
        mchid=str(data.get("app_id", "")), success_time=str(data.get("gmt_payment", "")),
    )
