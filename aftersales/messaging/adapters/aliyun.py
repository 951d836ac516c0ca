"""Aliyun SMS (dysmsapi 2017-05-25) through Alibaba Cloud's official SDK.

``SendSms`` carries our message id as ``OutId``; after a crash ``QuerySendDetails`` lists what the number was sent
that day and the message is found by its ``OutId``, so a message the provider already has is never sent again.
Error codes: https://help.aliyun.com/document_detail/101346.html (API errors; business errors are HTTP 200 with
``Code``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any
from zoneinfo import ZoneInfo

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions
from django.utils import timezone

from .base import Adapter, CannotTell, PermanentError, SendResult, TemporaryError
from .provider_common import endpoint_parts, looks_unsent, template_values

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "dysmsapi.aliyuncs.com"
SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50  # the API's maximum
MAX_PAGES = 20

#: the provider may accept it later
TEMPORARY_CODES = {
    "isv.BUSINESS_LIMIT_CONTROL",  # per-number frequency limit (1/min, 5/h, 10/day for codes; 50/day notices)
    "isv.DAY_LIMIT_CONTROL",  # the account's daily quota set in the console
    "isv.MONTH_LIMIT_CONTROL",
    "isv.OUT_OF_SERVICE",  # balance exhausted: sends again once topped up
    "isp.SYSTEM_ERROR",
    "isp.GATEWAY_ERROR",
    "ServiceUnavailable",
    "InternalError",
    "SDK.ServerUnreachable",
}
#: it will never be accepted as sent: fix the number, template or settings and re-run
PERMANENT_CODES = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.INVALID_PARAMETERS",
    "isv.INVALID_JSON_PARAM",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.SMS_CONTENT_ILLEGAL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_SIGN_ILLEGAL",
    "isv.SIGN_STATE_ILLEGAL",
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
    "isv.EXTEND_CODE_ERROR",
    "isv.DENY_IP_RANGE",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.ACCOUNT_ABNORMAL",
    "isv.PRODUCT_UN_SUBSCRIPT",
    "isv.PRODUCT_UNSUBSCRIBE",
    "isp.RAM_PERMISSION_DENY",
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingPhoneNumbers",
    "MissingSignName",
    "MissingTemplateCode",
}


def classify(code: str, status: int | None = None) -> type[Exception]:
    """TemporaryError or PermanentError for an Aliyun error code (and HTTP status, when an API error)."""
    if code in TEMPORARY_CODES or code.startswith(("Throttling", "ServiceUnavailable", "InternalError")):
        return TemporaryError
    if code in PERMANENT_CODES or code.startswith(("isv.", "InvalidAccessKeyId", "Signature", "Forbidden", "Missing")):
        return PermanentError
    if status is not None and status >= 500:
        return TemporaryError
    if code.startswith("isp."):
        return TemporaryError
    return PermanentError if status is not None and 400 <= status < 500 else TemporaryError


def phone_for_aliyun(recipient: str) -> str:
    """+8613812345678 → 13812345678 (the SDK expects national numbers for the mainland); others: digits with code."""
    number = "".join(ch for ch in recipient if ch.isdigit() or ch == "+")
    if number.startswith("+86"):
        return number[3:]
    if number.startswith("+"):
        return number[1:]
    if number.startswith("0086"):
        return number[4:]
    return number


class AliyunSmsAdapter(Adapter):
    provider = "aliyun"
    idempotent = False  # SendSms has no idempotency key; OutId only lets us find a message afterwards

    def __init__(self, settings_row: Any) -> None:
        super().__init__(settings_row)
        protocol, host = endpoint_parts(settings_row.sms_endpoint, DEFAULT_ENDPOINT)
        config = Config(
            access_key_id=settings_row.sms_access_key_id,
            access_key_secret=settings_row.sms_access_key_secret,
            endpoint=host,
            protocol=protocol,
            region_id=settings_row.sms_region or "cn-hangzhou",
            connect_timeout=5000,
            read_timeout=10000,
        )
        self.client = Client(config)
        self.runtime = RuntimeOptions(connect_timeout=5000, read_timeout=10000)

    # ---- sending ------------------------------------------------------------------------------------------
    def send(self, message: Any) -> SendResult:
        cfg = self.settings
        if not (cfg.sms_access_key_id and cfg.sms_access_key_secret and cfg.sms_sign_name):
            raise PermanentError("Aliyun SMS is not configured for this store (access key, secret and sign name)")
        if not message.provider_template_code:
            raise PermanentError("no Aliyun template code (SMS_…) on the message's template")
        request = sms_models.SendSmsRequest(
            phone_numbers=phone_for_aliyun(message.recipient),
            sign_name=cfg.sms_sign_name,
            template_code=message.provider_template_code,
            template_param=json.dumps(dict(template_values(message)), ensure_ascii=False),
            out_id=str(message.pk),
        )
        try:
            response = self.client.send_sms_with_options(request, self.runtime)
        except AlibabaCloudException as exc:
            raise classify(str(exc.code), exc.status_code)(f"Aliyun {exc.code}: {exc.message}") from exc
        except Exception as exc:  # network: refused / reset / timeout (UnretryableException wrapping RetryError)
            text = f"{type(exc).__name__}: {exc}"
            if looks_unsent(text):
                raise TemporaryError(f"Aliyun unreachable: {text}") from exc
            # The request may have reached Aliyun: look for it by OutId before letting the dispatcher resend.
            try:
                found = self._find(message)
            except Exception:
                found = None
            if found is not None:
                return found
            raise TemporaryError(f"Aliyun network error (not found at the provider): {text}") from exc
        body = response.body
        code = body.code or ""
        if code == "OK":
            return SendResult(self.provider, body.biz_id or "")
        raise classify(code)(f"Aliyun {code}: {body.message}")

    # ---- reconciliation -----------------------------------------------------------------------------------
    def reconcile(self, message: Any) -> SendResult | None:
        try:
            return self._find(message)
        except AlibabaCloudException as exc:
            if classify(str(exc.code), exc.status_code) is PermanentError:
                raise CannotTell(f"Aliyun {exc.code}: {exc.message}") from exc
            raise  # temporary: the dispatcher leaves the message for the next sweep
        except PermanentError as exc:
            raise CannotTell(str(exc)) from exc

    def _find(self, message: Any) -> SendResult | None:
        claimed = message.claimed_at or message.created_at or timezone.now()
        local = timezone.localtime(claimed, SHANGHAI)
        dates = [local.date()]
        later = timezone.localtime(claimed + dt.timedelta(minutes=10), SHANGHAI).date()
        if later != local.date():  # claimed just before midnight: Aliyun may have dated it the next day
            dates.append(later)
        phone = phone_for_aliyun(message.recipient)
        for day in dates:
            for page in range(1, MAX_PAGES + 1):
                response = self.client.query_send_details_with_options(
                    sms_models.QuerySendDetailsRequest(
                        phone_number=phone, send_date=day.strftime("%Y%m%d"), page_size=PAGE_SIZE, current_page=page,
                    ),
                    self.runtime,
                )
                body = response.body
                if body.code != "OK":
                    raise classify(body.code or "")(f"Aliyun {body.code}: {body.message}")
                details = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
                for detail in details or []:
                    if detail.out_id == str(message.pk):
                        biz_id = getattr(detail, "biz_id", None)  # not in the API today; use it if it appears
                        return SendResult(self.provider, biz_id or message.provider_message_id or f"outid:{message.pk}")
                if not details or page * PAGE_SIZE >= int(body.total_count or 0):
                    break
        return None
