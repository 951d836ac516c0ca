"""Device keys: derived, never stored.

A device's key is ``HMAC-SHA256(SECRET_KEY, "telematics-device:" + device_id + ":" + salt)`` (hex). The database keeps
the salt and a fingerprint (SHA-256 of the key) only, so neither a copy of the table nor a backup lets anyone sign a
message: the server's secret is needed too. Rotating draws a new salt (the old key stops working at once); revoking
marks the device. The key is shown to staff once, when the device is created or its key rotated.

Messages are signed by the device: ``sig = HMAC-SHA256(key, canonical JSON of the message without "sig")`` where the
canonical form is ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8. Requests
of vendor gateways over HTTPS are signed the same way over ``timestamp + "." + body`` (see ``docs/telematics.md``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from django.conf import settings


def new_salt() -> str:
    return secrets.token_hex(16)


def device_key(device_id: str, salt: str) -> str:
    material = f"telematics-device:{device_id}:{salt}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), material, hashlib.sha256).hexdigest()


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in obj.items() if k != "sig"}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def sign(key: str, payload: bytes) -> str:
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def sign_message(key: str, message: dict[str, Any]) -> dict[str, Any]:
    """The message with its ``sig`` (what a device, the simulator and the tests send)."""
    return {**message, "sig": sign(key, canonical(message))}


def verify(key: str, payload: bytes, signature: Any) -> bool:
    return isinstance(signature, str) and hmac.compare_digest(sign(key, payload), signature.strip().lower())
