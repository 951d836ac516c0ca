"""Tencent Cloud SMS (API 3.0, sms 2021-01-11) through Tencent Cloud's official SDK.

``SendSms`` carries our message id as ``SessionContext``, which Tencent echoes in the delivery receipts;
after a crash ``PullSmsSendStatusByPhoneNumber`` lists the receipts for the number since the claim and the message
is found by its ``SessionContext``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils import timezone
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as sms_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from .base import Adapter, CannotTell, PermanentError, SendResult, TemporaryError
from .provider_common import endpoint_parts, looks_unsent, template_values

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "sms.tencentcloudapi.com"
PULL_LIMIT = 100  # the API's maximum
MAX_PAGES = 20
#: receipts come from the carriers, usually within seconds: until this long after the claim, "no receipt" is not
#: proof the message was never sent, so reconciliation waits for a later sweep instead of resending
RECEIPT_GRACE = dt.timedelta(minutes=5)

TEMPORARY_PREFIXES = ("LimitExceeded", "InternalError", "RequestLimitExceeded", "ServerNetworkError", "ResourceUnavailable")
PERMANENT_PREFIXES = (
    "FailedOperation", "InvalidParameterValue", "InvalidParameter", "MissingParameter", "UnauthorizedOperation",
    "UnsupportedOperation", "AuthFailure", "ResourceNotFound", "InvalidAction",
)


class ReceiptPending(Exception):
    """No receipt yet, but it is too early to conclude the provider never got the message."""


def classify(code: str) -> type[Exception]:
    if code.startswith(TEMPORARY_PREFIXES):
        return TemporaryError
    if code.startswith(PERMANENT_PREFIXES):
        return PermanentError
    return TemporaryError  # unknown: retrying is safe (the provider refused it) and bounded by the attempt limit


def phone_for_tencent(recipient: str) -> str:
    """E.164 with the plus: +8613812345678 (an 11-digit mainland number without a country code gets +86)."""
    number = "".join(ch for ch in recipient if ch.isdigit() or ch == "+")
    if number.startswith("00"):
        return "+" + number[2:]
    if not number.startswith("+"):
        return "+86" + number if len(number) == 11 and number.startswith("1") else "+" + number
    return number


class TencentSmsAdapter(Adapter):
    provider = "tencent"
    idempotent = False  # SendSms has no idempotency key; SessionContext only lets us find a message afterwards

    def __init__(self, settings_row: Any) -> None:
        super().__init__(settings_row)
        protocol, host = endpoint_parts(settings_row.sms_endpoint, DEFAULT_ENDPOINT)
        http_profile = HttpProfile(endpoint=host, protocol=protocol, reqTimeout=15)
        self.client = SmsClient(
            Credential(settings_row.sms_access_key_id, settings_row.sms_access_key_secret),
            settings_row.sms_region or "ap-guangzhou",
            ClientProfile(httpProfile=http_profile),
        )

    # ---- sending ------------------------------------------------------------------------------------------
    def send(self, message: Any) -> SendResult:
        cfg = self.settings
        if not (cfg.sms_access_key_id and cfg.sms_access_key_secret and cfg.sms_sdk_app_id and cfg.sms_sign_name):
            raise PermanentError("Tencent SMS is not configured for this store (SecretId, SecretKey, SdkAppId, sign name)")
        if not message.provider_template_code:
            raise PermanentError("no Tencent template id on the message's template")
        request = sms_models.SendSmsRequest()
        request.PhoneNumberSet = [phone_for_tencent(message.recipient)]
        request.SmsSdkAppId = cfg.sms_sdk_app_id
        request.SignName = cfg.sms_sign_name
        request.TemplateId = message.provider_template_code
        request.TemplateParamSet = [value for _name, value in template_values(message)]
        request.SessionContext = str(message.pk)
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "")
            if code == "ClientNetworkError":
                if looks_unsent(str(exc.get_message())):
                    raise TemporaryError(f"Tencent unreachable: {exc.get_message()}") from exc
                try:  # the request may have reached Tencent: look for it before letting the dispatcher resend
                    found = self._find(message, allow_pending=False)
                except Exception:
                    found = None
                if found is not None:
                    return found
                raise TemporaryError(f"Tencent network error (no receipt found): {exc.get_message()}") from exc
            raise classify(code)(f"Tencent {code}: {exc.get_message()}") from exc
        statuses = response.SendStatusSet or []
        if not statuses:
            raise TemporaryError("Tencent answered without a send status")
        status = statuses[0]
        if status.Code == "Ok":
            return SendResult(self.provider, status.SerialNo or "")
        raise classify(status.Code or "")(f"Tencent {status.Code}: {status.Message}")

    # ---- reconciliation -----------------------------------------------------------------------------------
    def reconcile(self, message: Any) -> SendResult | None:
        try:
            return self._find(message, allow_pending=True)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "")
            if classify(code) is PermanentError:  # e.g. the pull API is not enabled for this SdkAppId
                raise CannotTell(f"Tencent {code}: {exc.get_message()}") from exc
            raise  # network / rate limit: the dispatcher leaves the message for the next sweep

    def _find(self, message: Any, *, allow_pending: bool) -> SendResult | None:
        claimed = message.claimed_at or message.created_at or timezone.now()
        begin = int((claimed - dt.timedelta(minutes=10)).timestamp())
        for page in range(MAX_PAGES):
            request = sms_models.PullSmsSendStatusByPhoneNumberRequest()
            request.BeginTime = begin
            request.Offset = page * PULL_LIMIT
            request.Limit = PULL_LIMIT
            request.PhoneNumber = phone_for_tencent(message.recipient)
            request.SmsSdkAppId = self.settings.sms_sdk_app_id
            rows = self.client.PullSmsSendStatusByPhoneNumber(request).PullSmsSendStatusSet or []
            for row in rows:
                if row.SessionContext == str(message.pk):
                    return SendResult(self.provider, row.SerialNo or "")
            if len(rows) < PULL_LIMIT:
                break
        if allow_pending and timezone.now() - claimed < RECEIPT_GRACE:
            raise ReceiptPending(f"no receipt for message {message.pk} yet; checking again at the next sweep")
        return None
