"""WeChat Pay API v3 payment notifications (支付结果通知): signature verification and resource decryption.

The provider POSTs JSON with headers ``Wechatpay-Timestamp``, ``Wechatpay-Nonce``, ``Wechatpay-Signature`` (base64
RSA-SHA256, PKCS#1 v1.5, over ``"{timestamp}\\n{nonce}\\n{body}\\n"`` with the platform's private key) and
``Wechatpay-Serial`` (the platform certificate's serial). The body's ``resource`` is AEAD_AES_256_GCM-encrypted
with the merchant's APIv3 key (``ciphertext``, ``nonce``, ``associated_data``, all per the v3 documentation).

Configuration (Django settings or environment): ``WECHATPAY_APIV3_KEY`` (32 characters),
``WECHATPAY_PLATFORM_PUBLIC_KEY`` (PEM), ``WECHATPAY_PLATFORM_SERIAL``, ``WECHATPAY_MCHID``.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

MAX_SKEW_SECONDS = 300


class NotifyRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def setting(name: str) -> str:
    return str(getattr(settings, name, "") or os.environ.get(name, ""))


@dataclass(frozen=True)
class Transaction:
    out_trade_no: str
    transaction_id: str
    trade_state: str
    total_fen: int
    mchid: str
    success_time: str


def verify_and_decrypt(
    headers: Any, body: bytes, now: float | None = None, *, keys: tuple[str, str, str] | None = None,
) -> Transaction:
    """The paid transaction a genuine notification reports; NotifyRejected for anything else.

    ``keys`` = (platform public key PEM, APIv3 key, platform key ID / serial) of a store's merchant account; without
    it the installation-wide settings are used."""
    data = decrypt_notification(headers, body, now, keys=keys)
    try:
        return Transaction(
            out_trade_no=str(data["out_trade_no"]), transaction_id=str(data["transaction_id"]),
            trade_state=str(data["trade_state"]), total_fen=int(data["amount"]["total"]), mchid=str(data.get("mchid", "")),
            success_time=str(data.get("success_time", "")),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise NotifyRejected("bad_resource", "the resource does not parse") from exc


def decrypt_notification(
    headers: Any, body: bytes, now: float | None = None, *, keys: tuple[str, str, str] | None = None,
) -> dict[str, Any]:
    """Any genuine WeChat Pay v3 notification's decrypted resource (payment or refund); NotifyRejected otherwise."""
    key_pem, api_key, serial = keys or (setting("WECHATPAY_PLATFORM_PUBLIC_KEY"), setting("WECHATPAY_APIV3_KEY"),
                                        setting("WECHATPAY_PLATFORM_SERIAL"))
    if not key_pem or len(api_key.encode()) != 32:
        raise NotifyRejected("not_configured", "WeChat Pay is not configured")
    timestamp, nonce = headers.get("Wechatpay-Timestamp", ""), headers.get("Wechatpay-Nonce", "")
    signature, sent_serial = headers.get("Wechatpay-Signature", ""), headers.get("Wechatpay-Serial", "")
    if not (timestamp and nonce and signature):
        raise NotifyRejected("unsigned", "missing signature headers")
    if serial and sent_serial != serial:
        raise NotifyRejected("unknown_serial", "unknown platform certificate serial")
    try:
        stamp = int(timestamp)
    except ValueError as exc:
        raise NotifyRejected("bad_timestamp", "bad timestamp") from exc
    if abs((now or time.time()) - stamp) > MAX_SKEW_SECONDS:
        raise NotifyRejected("stale", "timestamp too far from now (replay?)")
    public_key = serialization.load_pem_public_key(key_pem.encode())
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise NotifyRejected("not_configured", "the platform key is not an RSA key")
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    try:
        public_key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise NotifyRejected("bad_signature", "signature does not verify") from exc
    try:
        envelope = json.loads(body)
        resource = envelope["resource"]
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotifyRejected("bad_resource", "unsupported algorithm")
        plain = AESGCM(api_key.encode()).decrypt(
            resource["nonce"].encode(), base64.b64decode(resource["ciphertext"]),
            (resource.get("associated_data") or "").encode(),
        )
        data = json.loads(plain)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except NotifyRejected:
        raise
    except (InvalidTag, KeyError, ValueError, TypeError) as exc:
        raise NotifyRejected("bad_resource", "the resource does not decrypt or parse") from exc
