"""A fake WeChat Pay platform at the world's edge: it signs and encrypts v3 payment notifications exactly as the
real one does (RSA-SHA256 over timestamp/nonce/body, AEAD_AES_256_GCM resource with the APIv3 key)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class FakeWeChatPay:
    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.api_v3_key = secrets.token_hex(16)  # 32 characters
        self.serial = "5157F09EFDC096DE15EBE81A47057A72" + secrets.token_hex(4).upper()
        self.mchid = "1900000109"

    @property
    def public_pem(self) -> str:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def configure(self, settings: Any) -> None:
        settings.WECHATPAY_APIV3_KEY = self.api_v3_key
        settings.WECHATPAY_PLATFORM_PUBLIC_KEY = self.public_pem
        settings.WECHATPAY_PLATFORM_SERIAL = self.serial
        settings.WECHATPAY_MCHID = self.mchid

    def notification(
        self, *, out_trade_no: str, transaction_id: str, total_fen: int, trade_state: str = "SUCCESS",
        timestamp: int | None = None, api_v3_key: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        resource = {
            "mchid": self.mchid, "appid": "wxd678efh567hg6787", "out_trade_no": out_trade_no,
            "transaction_id": transaction_id, "trade_type": "NATIVE", "trade_state": trade_state,
            "trade_state_desc": "支付成功", "bank_type": "OTHERS", "success_time": "2026-12-01T18:30:00+08:00",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, "amount": {"total": total_fen, "payer_total": total_fen,
                                                                           "currency": "CNY", "payer_currency": "CNY"},
        }
        nonce = secrets.token_hex(6)
        associated = "transaction"
        cipher = AESGCM((api_v3_key or self.api_v3_key).encode()).encrypt(
            nonce.encode(), json.dumps(resource).encode(), associated.encode()
        )
        body = json.dumps({
            "id": secrets.token_hex(16), "create_time": "2026-12-01T18:30:01+08:00", "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM", "ciphertext":
                         base64.b64encode(cipher).decode(), "associated_data": associated, "nonce": nonce},
        }).encode()
        stamp = str(timestamp or int(time.time()))
        sign_nonce = secrets.token_hex(16)
        signature = self.private_key.sign(f"{stamp}\n{sign_nonce}\n".encode() + body + b"\n", padding.PKCS1v15(), hashes.SHA256())
        headers = {
            "Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": sign_nonce, "Wechatpay-Serial": self.serial,
            "Wechatpay-Signature": base64.b64encode(signature).decode(), "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }
        return headers, body
