"""Local stand-ins for the SMS and WeChat providers, answering as each provider documents its API.

Each fake is a plain ``http.server`` in a daemon thread on 127.0.0.1 (port chosen by the OS). It checks the
credentials the official SDK sends (and the request signature: ACS3-HMAC-SHA256 / HMAC-SHA1 for Aliyun, TC3-HMAC-SHA256
for Tencent), records every request in ``calls`` and every accepted message in ``deliveries``, and can be told to fail
the next N calls with a provider error code (``fail_next``) or to drop the connection (``drop_next``, optionally after
accepting the message: a timeout after the provider got it). Used by the adapter tests and by the benchmark::

    with FakeAliyunSms() as fake:
        cfg.sms_endpoint = fake.url                     # http://127.0.0.1:<port>
        ...
        assert fake.delivered_count(message.pk) == 1
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Failure:
    code: str
    message: str = ""
    status: int | None = None  # HTTP status; None: what the provider uses for that code
    level: str = "auto"  # Tencent: "error" (Response.Error) or "status" (per-number SendStatusSet entry)


@dataclass
class Call:
    """One request as the fake understood it."""

    action: str
    params: dict[str, Any]
    headers: dict[str, str]
    outcome: str = ""  # "ok", the error code, or "dropped"


@dataclass
class Delivery:
    """One message the fake accepted (what a phone / WeChat user would receive)."""

    key: str  # our message id as the provider got it: OutId, SessionContext, client_msg_id
    provider_id: str
    to: str
    template: str
    params: Any
    sign: str = ""
    at: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = self.server.fake
        status, headers, payload = fake.handle(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if status == 0:  # drop the connection without an answer
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
            return
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeProvider


class FakeProvider:
    """Shared machinery: the HTTP server, the call log, scripted failures."""

    name = ""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.deliveries: list[Delivery] = []
        self._failures: list[Failure] = []
        self._drops: list[bool] = []  # True: accept the message, then drop the connection
        self._ids = itertools.count(1)
        self.httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> FakeProvider:
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.fake = self
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self.httpd is not None, "start() the fake first"
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- scripting and inspection -------------------------------------------------------------------------
    def fail_next(self, n: int, code: str, message: str = "", *, status: int | None = None, level: str = "auto") -> None:
        """The next ``n`` send calls answer with the provider error ``code``."""
        with self.lock:
            self._failures.extend(Failure(code, message or f"fake {code}", status, level) for _ in range(n))

    def drop_next(self, n: int = 1, *, after_accepting: bool = False) -> None:
        """The next ``n`` send calls get no answer (connection closed); ``after_accepting``: the message went out."""
        with self.lock:
            self._drops.extend([after_accepting] * n)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.deliveries.clear()
            self._failures.clear()
            self._drops.clear()

    def delivered(self, key: object) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.key == str(key)]

    def delivered_count(self, key: object) -> int:
        return len(self.delivered(key))

    def calls_for(self, action: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.action == action]

    def _next_script(self) -> tuple[Failure | None, bool | None]:
        with self.lock:
            if self._drops:
                return None, self._drops.pop(0)
            if self._failures:
                return self._failures.pop(0), None
        return None, None

    def _record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def _deliver(self, delivery: Delivery) -> None:
        with self.lock:
            self.deliveries.append(delivery)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError


# ======================================================================================================
# Aliyun (dysmsapi 2017-05-25, RPC style)
# ======================================================================================================
def _aliyun_encode(value: str) -> str:
    return quote(value, safe="~")


MAINLAND_MOBILE = re.compile(r"^1\d{10}$")
INTERNATIONAL_MOBILE = re.compile(r"^[1-9]\d{7,14}$")


class FakeAliyunSms(FakeProvider):
    """Answers ``SendSms`` and ``QuerySendDetails`` as ``dysmsapi.aliyuncs.com`` does.

    The SDK (tea-openapi ≥ 0.4) sends a POST to ``/`` with the action in the ``x-acs-action`` header, the API
    parameters in the query string and an ``Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,...`` header;
    older SDKs send ``Action``/``AccessKeyId``/``Signature`` (HMAC-SHA1) as parameters. Both are understood and
    both signatures are verified with ``access_key_secret``. Business errors come back as HTTP 200 with ``Code``.
    """

    name = "aliyun"

    def __init__(
        self,
        *,
        access_key_id: str = "fake-aliyun-ak",
        access_key_secret: str = "fake-aliyun-secret",  # noqa: S107
        sign_names: Iterable[str] | None = None,
        templates: dict[str, list[str]] | None = None,
        verify_signature: bool = True,
        latency: float = 0.0,
    ) -> None:
        super().__init__()
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_names = set(sign_names) if sign_names is not None else None  # None: any sign name
        self.templates = templates  # code → the variables it needs; None: any template
        self.verify_signature = verify_signature
        self.latency = latency

    @staticmethod
    def _answer(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        payload.setdefault("RequestId", str(uuid.uuid4()).upper())
        return status, {"Content-Type": "application/json;charset=utf-8"}, payload

    def _error(self, status: int, code: str, message: str) -> tuple[int, dict[str, str], Any]:
        return self._answer(status, {"Code": code, "Message": message})

    def _check_auth(self, method: str, path: str, headers: dict[str, str], query: dict[str, str], body: bytes) -> str:
        """'' when the caller is who it says; else the Aliyun error code."""
        auth = headers.get("authorization", "")
        if auth.startswith("ACS3-HMAC-SHA256 "):
            parts = dict(p.split("=", 1) for p in auth[len("ACS3-HMAC-SHA256 "):].split(",") if "=" in p)
            if parts.get("Credential") != self.access_key_id:
                return "InvalidAccessKeyId.NotFound"
            if not self.verify_signature:
                return ""
            if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
                return "SignatureDoesNotMatch"
            signed = parts.get("SignedHeaders", "").split(";")
            canonical_query = "&".join(f"{_aliyun_encode(k)}={_aliyun_encode(v)}" for k, v in sorted(query.items()))
            canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed)
            canonical = "\n".join(
                [method, urlsplit(path).path or "/", canonical_query, canonical_headers, ";".join(signed),
                 headers.get("x-acs-content-sha256", "")]
            )
            to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
            expected = hmac.new(self.access_key_secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
            return "" if hmac.compare_digest(expected, parts.get("Signature", "")) else "SignatureDoesNotMatch"
        if "AccessKeyId" in query:  # signature v1 (HMAC-SHA1) in the parameters
            if query["AccessKeyId"] != self.access_key_id:
                return "InvalidAccessKeyId.NotFound"
            if not self.verify_signature:
                return ""
            params = {k: v for k, v in query.items() if k != "Signature"}
            canonical = "&".join(f"{_aliyun_encode(k)}={_aliyun_encode(v)}" for k, v in sorted(params.items()))
            to_sign = f"{method}&{_aliyun_encode('/')}&{_aliyun_encode(canonical)}"
            digest = hmac.new(f"{self.access_key_secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
            return "" if hmac.compare_digest(base64.b64encode(digest).decode(), query.get("Signature", "")) else "SignatureDoesNotMatch"
        return "MissingAccessKeyId"

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        if self.latency:
            time.sleep(self.latency)
        query = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        params = dict(query)
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        action = headers.get("x-acs-action") or params.get("Action", "")
        call = Call(action=action, params=params, headers=headers)
        self._record(call)
        auth_error = self._check_auth(method, path, headers, query, body)
        if auth_error:
            call.outcome = auth_error
            status = 404 if auth_error == "InvalidAccessKeyId.NotFound" else 400
            return self._error(status, auth_error, f"fake: {auth_error}")
        if action == "SendSms":
            return self._send(call)
        if action == "QuerySendDetails":
            return self._query(call)
        call.outcome = "InvalidAction.NotFound"
        return self._error(404, "InvalidAction.NotFound", f"Specified api is not found, please check your url and method: {action}")

    def _send(self, call: Call) -> tuple[int, dict[str, str], Any]:
        p = call.params
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not p.get(name):
                call.outcome = f"Missing{name}"
                return self._error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        failure, drop = self._next_script()
        if failure is not None:
            call.outcome = failure.code
            status = failure.status or (503 if failure.code in ("ServiceUnavailable", "InternalError") else
                                        400 if failure.code.startswith("Throttling") else 200)
            return self._error(status, failure.code, failure.message)
        if drop is False:
            call.outcome = "dropped"
            return 0, {}, b""
        phone = p["PhoneNumbers"]
        if "," in phone:
            call.outcome = "isv.MOBILE_COUNT_OVER_LIMIT"  # one message per call in this product
            return self._answer(200, {"Code": "isv.MOBILE_COUNT_OVER_LIMIT", "Message": "fake: one number per call"})
        if not (MAINLAND_MOBILE.match(phone) or (INTERNATIONAL_MOBILE.match(phone) and not phone.startswith("86"))):
            call.outcome = "isv.MOBILE_NUMBER_ILLEGAL"
            return self._answer(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
        if self.sign_names is not None and p["SignName"] not in self.sign_names:
            call.outcome = "isv.SMS_SIGNATURE_ILLEGAL"
            return self._answer(200, {"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "该账号下找不到对应签名"})
        try:
            template_params = json.loads(p["TemplateParam"]) if p.get("TemplateParam") else {}
            if not isinstance(template_params, dict):
                raise ValueError
        except ValueError:
            call.outcome = "isv.INVALID_JSON_PARAM"
            return self._answer(200, {"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法，只接受字符串值"})
        if any(not isinstance(v, str) for v in template_params.values()):
            call.outcome = "isv.INVALID_JSON_PARAM"
            return self._answer(200, {"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法，只接受字符串值"})
        if self.templates is not None:
            if p["TemplateCode"] not in self.templates:
                call.outcome = "isv.SMS_TEMPLATE_ILLEGAL"
                return self._answer(200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "该账号下找不到对应模板"})
            missing = [v for v in self.templates[p["TemplateCode"]] if v not in template_params]
            if missing:
                call.outcome = "isv.TEMPLATE_MISSING_PARAMETERS"
                return self._answer(200, {"Code": "isv.TEMPLATE_MISSING_PARAMETERS", "Message": f"模板缺少变量 {missing}"})
        biz_id = f"{next(self._ids):06d}{int(time.time()):010d}^0"
        now = dt.datetime.now(SHANGHAI)
        self._deliver(Delivery(
            key=p.get("OutId", ""), provider_id=biz_id, to=phone, template=p["TemplateCode"], params=template_params,
            sign=p["SignName"], extra={"send_date": now.strftime("%Y%m%d"), "send_time": now.strftime("%Y-%m-%d %H:%M:%S")},
        ))
        if drop is True:
            call.outcome = "dropped"
            return 0, {}, b""
        call.outcome = "ok"
        return self._answer(200, {"Code": "OK", "Message": "OK", "BizId": biz_id})

    def _query(self, call: Call) -> tuple[int, dict[str, str], Any]:
        p = call.params
        for name in ("PhoneNumber", "SendDate", "PageSize", "CurrentPage"):
            if not p.get(name):
                call.outcome = f"Missing{name}"
                return self._error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        page_size, page = int(p["PageSize"]), int(p["CurrentPage"])
        if not 1 <= page_size <= 50 or page < 1:
            call.outcome = "isv.INVALID_PARAMETERS"
            return self._answer(200, {"Code": "isv.INVALID_PARAMETERS", "Message": "参数异常"})
        with self.lock:
            rows = [d for d in self.deliveries if d.to == p["PhoneNumber"] and d.extra["send_date"] == p["SendDate"]
                    and (not p.get("BizId") or d.provider_id == p["BizId"])]
        chunk = rows[(page - 1) * page_size: page * page_size]
        call.outcome = "ok"
        return self._answer(200, {
            "Code": "OK", "Message": "OK", "TotalCount": len(rows),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": [
                {"PhoneNum": d.to, "SendStatus": 3, "ErrCode": "DELIVERED", "TemplateCode": d.template,
                 "Content": f"【{d.sign}】{json.dumps(d.params, ensure_ascii=False)}", "SendDate": d.extra["send_time"],
                 "ReceiveDate": d.extra["send_time"], "OutId": d.key}
                for d in chunk
            ]},
        })


# ======================================================================================================
# Tencent Cloud SMS (API 3.0, version 2021-01-11, TC3-HMAC-SHA256)
# ======================================================================================================
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


class FakeTencentSms(FakeProvider):
    """Answers ``SendSms`` and ``PullSmsSendStatusByPhoneNumber`` as ``sms.tencentcloudapi.com`` does.

    A POST to ``/`` with ``X-TC-Action``/``X-TC-Version``/``X-TC-Timestamp`` headers, a JSON body and
    ``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request, SignedHeaders=..., Signature=...``
    (verified with ``secret_key``). Every answer is HTTP 200 ``{"Response": {...}}``; request errors carry
    ``Response.Error``, per-number results are in ``SendStatusSet`` (``Code`` "Ok" or an error code).
    """

    name = "tencent"

    def __init__(
        self,
        *,
        secret_id: str = "fake-tencent-secret-id",  # noqa: S107
        secret_key: str = "fake-tencent-secret-key",  # noqa: S107
        sdk_app_id: str = "1400000001",
        sign_names: Iterable[str] | None = None,
        templates: dict[str, int] | None = None,
        verify_signature: bool = True,
    ) -> None:
        super().__init__()
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_names = set(sign_names) if sign_names is not None else None
        self.templates = templates  # template id → number of parameters; None: any
        self.verify_signature = verify_signature

    @staticmethod
    def _answer(response: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        response.setdefault("RequestId", str(uuid.uuid4()))
        return 200, {"Content-Type": "application/json"}, {"Response": response}

    def _error(self, code: str, message: str) -> tuple[int, dict[str, str], Any]:
        return self._answer({"Error": {"Code": code, "Message": message}})

    def _check_auth(self, method: str, headers: dict[str, str], body: bytes) -> str:
        auth = headers.get("authorization", "")
        match = re.match(r"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/(\w+)/tc3_request, "
                         r"SignedHeaders=([^,]+), Signature=([0-9a-f]+)$", auth)
        if not match:
            return "AuthFailure.SignatureFailure"
        secret_id, date, service, signed, signature = match.groups()
        if secret_id != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            return "AuthFailure.SignatureFailure"
        if abs(time.time() - timestamp) > 300:
            return "AuthFailure.SignatureExpire"
        if not self.verify_signature:
            return ""
        names = signed.split(";")
        canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in names)
        canonical = "\n".join([method, "/", "", canonical_headers, signed, hashlib.sha256(body).hexdigest()])
        to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), f"{date}/{service}/tc3_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])

        def _h(key: bytes, msg: str) -> bytes:
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()

        key = _h(_h(_h(f"TC3{self.secret_key}".encode(), date), service), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return "" if hmac.compare_digest(expected, signature) else "AuthFailure.SignatureFailure"

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        action = headers.get("x-tc-action", "")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        call = Call(action=action, params=params, headers=headers)
        self._record(call)
        auth_error = self._check_auth(method, headers, body)
        if auth_error:
            call.outcome = auth_error
            return self._error(auth_error, f"fake: {auth_error}")
        if headers.get("x-tc-version") != "2021-01-11":
            call.outcome = "InvalidParameter"
            return self._error("InvalidParameter", "fake: only version 2021-01-11")
        if action == "SendSms":
            return self._send(call)
        if action == "PullSmsSendStatusByPhoneNumber":
            return self._pull(call)
        call.outcome = "InvalidAction"
        return self._error("InvalidAction", f"fake: unknown action {action}")

    def _send(self, call: Call) -> tuple[int, dict[str, str], Any]:
        p = call.params
        for name in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not p.get(name):
                call.outcome = "MissingParameter"
                return self._error("MissingParameter", f"The request is missing a required parameter `{name}`.")
        if p["SmsSdkAppId"] != self.sdk_app_id:
            call.outcome = "InvalidParameterValue.SdkAppIdNotExist"
            return self._error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist.")
        failure, drop = self._next_script()
        if failure is not None:
            call.outcome = failure.code
            level = failure.level
            if level == "auto":
                level = "error" if failure.code.startswith(("InternalError", "RequestLimitExceeded", "AuthFailure")) else "status"
            if failure.status:
                return failure.status, {"Content-Type": "text/plain"}, failure.message.encode()
            if level == "error":
                return self._error(failure.code, failure.message)
            return self._answer({"SendStatusSet": [
                {"SerialNo": "", "PhoneNumber": n, "Fee": 0, "SessionContext": p.get("SessionContext", ""),
                 "Code": failure.code, "Message": failure.message, "IsoCode": "CN"} for n in p["PhoneNumberSet"]
            ]})
        if drop is False:
            call.outcome = "dropped"
            return 0, {}, b""
        if self.templates is not None:
            if p["TemplateId"] not in self.templates:
                call.outcome = "FailedOperation.TemplateIncorrectOrUnapproved"
                return self._error("FailedOperation.TemplateIncorrectOrUnapproved", "template is not approved or not exist")
            if len(p.get("TemplateParamSet") or []) != self.templates[p["TemplateId"]]:
                call.outcome = "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
                return self._error("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "template params do not match")
        if self.sign_names is not None and p.get("SignName") not in self.sign_names:
            call.outcome = "FailedOperation.SignatureIncorrectOrUnapproved"
            return self._error("FailedOperation.SignatureIncorrectOrUnapproved", "signature is not approved or not exist")
        if any(not isinstance(v, str) for v in p.get("TemplateParamSet") or []):
            call.outcome = "InvalidParameterValue.TemplateParameterFormatError"
            return self._error("InvalidParameterValue.TemplateParameterFormatError", "template parameters must be strings")
        statuses = []
        for number in p["PhoneNumberSet"]:
            if not E164.match(number):
                statuses.append({"SerialNo": "", "PhoneNumber": number, "Fee": 0, "SessionContext": p.get("SessionContext", ""),
                                 "Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "incorrect phone number", "IsoCode": ""})
                continue
            serial = f"5000:{next(self._ids):04d}{int(time.time())}"
            self._deliver(Delivery(
                key=p.get("SessionContext", ""), provider_id=serial, to=number, template=p["TemplateId"],
                params=list(p.get("TemplateParamSet") or []), sign=p.get("SignName", ""),
                extra={"sdk_app_id": p["SmsSdkAppId"]},
            ))
            statuses.append({"SerialNo": serial, "PhoneNumber": number, "Fee": 1, "SessionContext": p.get("SessionContext", ""),
                             "Code": "Ok", "Message": "send success", "IsoCode": "CN"})
        call.outcome = statuses[0]["Code"] if statuses else "ok"
        if call.outcome == "Ok":
            call.outcome = "ok"
        if drop is True:
            call.outcome = "dropped"
            return 0, {}, b""
        return self._answer({"SendStatusSet": statuses})

    def _pull(self, call: Call) -> tuple[int, dict[str, str], Any]:
        p = call.params
        for name in ("BeginTime", "Limit", "PhoneNumber", "SmsSdkAppId"):
            if p.get(name) in (None, ""):
                call.outcome = "MissingParameter"
                return self._error("MissingParameter", f"The request is missing a required parameter `{name}`.")
        if "Offset" not in p:
            call.outcome = "MissingParameter"
            return self._error("MissingParameter", "The request is missing a required parameter `Offset`.")
        if not 0 < int(p["Limit"]) <= 100:
            call.outcome = "InvalidParameterValue"
            return self._error("InvalidParameterValue", "Limit must be between 1 and 100")
        begin, end = int(p["BeginTime"]), int(p.get("EndTime") or 2**62)
        with self.lock:
            rows = [d for d in self.deliveries if d.to == p["PhoneNumber"] and begin <= d.at <= end
                    and d.extra.get("sdk_app_id") == p["SmsSdkAppId"]]
        offset, limit = int(p["Offset"]), int(p["Limit"])
        call.outcome = "ok"
        return self._answer({"PullSmsSendStatusSet": [
            {"UserReceiveTime": int(d.at), "CountryCode": "86", "SubscriberNumber": d.to[3:], "PhoneNumber": d.to,
             "SerialNo": d.provider_id, "ReportStatus": "SUCCESS", "Description": "用户短信接收成功",
             "SessionContext": d.key}
            for d in rows[offset: offset + limit]
        ]})


# ======================================================================================================
# WeChat Official Account: access token and template messages
# ======================================================================================================
class FakeWeChat(FakeProvider):
    """Answers ``GET /cgi-bin/token`` and ``POST /cgi-bin/message/template/send`` as ``api.weixin.qq.com`` does.

    Errors are HTTP 200 with ``errcode``/``errmsg``. Tokens last ``expires_in`` seconds; ``expire_tokens()``
    makes every issued token answer 42001. ``followers`` (OpenIDs following the account), ``unsubscribed`` and
    ``templates`` (template id → the data keys it has) restrict what is accepted when given. A repeated
    ``client_msg_id`` for the same OpenID within 10 minutes is not delivered again (the documented 防重入 id).
    """

    name = "wechat"

    def __init__(
        self,
        *,
        app_id: str = "wxfake0000000001",
        app_secret: str = "fake-wechat-secret",  # noqa: S107
        followers: Iterable[str] | None = None,
        unsubscribed: Iterable[str] = (),
        templates: dict[str, list[str]] | None = None,
        expires_in: int = 7200,
    ) -> None:
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.followers = set(followers) if followers is not None else None
        self.unsubscribed = set(unsubscribed)
        self.templates = templates
        self.expires_in = expires_in
        self.tokens: dict[str, float] = {}  # token → expiry (unix time)
        self.token_requests = 0

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    @staticmethod
    def _answer(payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        return 200, {"Content-Type": "application/json; encoding=utf-8"}, payload

    def _err(self, call: Call, code: int, message: str) -> tuple[int, dict[str, str], Any]:
        call.outcome = str(code)
        return self._answer({"errcode": code, "errmsg": f"{message} rid: {uuid.uuid4().hex[:8]}"})

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        url = urlsplit(path)
        query = dict(parse_qsl(url.query))
        if url.path == "/cgi-bin/token" and method == "GET":
            call = Call(action="token", params=query, headers=headers)
            self._record(call)
            with self.lock:
                self.token_requests += 1
            if query.get("grant_type") != "client_credential":
                return self._err(call, 40002, "invalid grant_type")
            if query.get("appid") != self.app_id:
                return self._err(call, 40013, "invalid appid")
            if query.get("secret") != self.app_secret:
                return self._err(call, 40125, "invalid appsecret")
            token = uuid.uuid4().hex
            with self.lock:
                self.tokens[token] = time.time() + self.expires_in
            call.outcome = "ok"
            return self._answer({"access_token": token, "expires_in": self.expires_in})
        if url.path == "/cgi-bin/message/template/send" and method == "POST":
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
            call = Call(action="template_send", params=params, headers=headers)
            self._record(call)
            with self.lock:
                expiry = self.tokens.get(query.get("access_token", ""))
            if expiry is None:
                return self._err(call, 40001, "invalid credential, access_token is invalid or not latest")
            if expiry < time.time():
                return self._err(call, 42001, "access_token expired")
            return self._send(call, params)
        call = Call(action=url.path, params=query, headers=headers)
        self._record(call)
        return self._err(call, 48001, "api unauthorized")

    def _send(self, call: Call, p: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        failure, drop = self._next_script()
        if failure is not None:
            return self._err(call, int(failure.code), failure.message)
        if drop is False:
            call.outcome = "dropped"
            return 0, {}, b""
        openid = p.get("touser") or ""
        if not re.match(r"^[A-Za-z0-9_-]{20,64}$", openid) or (self.followers is not None and openid not in self.followers
                                                                and openid not in self.unsubscribed):
            return self._err(call, 40003, "invalid openid")
        if openid in self.unsubscribed:
            return self._err(call, 43004, "require subscribe")
        template = p.get("template_id") or ""
        if not template or (self.templates is not None and template not in self.templates):
            return self._err(call, 40037, "invalid template_id")
        data = p.get("data")
        if not isinstance(data, dict) or any(not isinstance(v, dict) or "value" not in v for v in data.values()):
            return self._err(call, 47001, "data format error")
        if self.templates is not None and set(self.templates[template]) - set(data):
            return self._err(call, 47003, f"argument invalid! data.{sorted(set(self.templates[template]) - set(data))[0]}.value empty")
        key = str(p.get("client_msg_id") or "")
        with self.lock:
            earlier = [d for d in self.deliveries if key and d.key == key and d.to == openid and time.time() - d.at < 600]
        if earlier:
            msgid = earlier[0].provider_id
        else:
            msgid = str(next(self._ids) + 2_000_000_000)
            self._deliver(Delivery(key=key, provider_id=msgid, to=openid, template=template,
                                   params={k: v["value"] for k, v in data.items()}, extra={"url": p.get("url", "")}))
        if drop is True:
            call.outcome = "dropped"
            return 0, {}, b""
        call.outcome = "ok"
        return self._answer({"errcode": 0, "errmsg": "ok", "msgid": int(msgid)})
