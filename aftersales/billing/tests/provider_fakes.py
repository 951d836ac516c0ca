"""Local fakes of WeChat Pay API v3 and Alipay's open API, speaking their real protocols over HTTP on 127.0.0.1.

* WeChat Pay: every request's ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,timestamp=…,
  serial_no=…`` is verified (RSA-SHA256 over ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY\\n`` with the merchant's public
  key, serial and mchid checked, timestamp within 5 minutes); every answer is signed with the platform key
  (``Wechatpay-Timestamp/Nonce/Signature/Serial`` = the platform public key ID); the payment notification is an
  AEAD_AES_256_GCM resource (APIv3 key) in a signed envelope, POSTed to the order's ``notify_url``.
* Alipay: every gateway request is verified (RSA2 over the sorted ``k=v`` pairs less ``sign``, with the app's public
  key); synchronous answers are signed over the exact JSON text of the ``…_response`` object; the asynchronous
  notification is a form POST signed over the sorted fields less ``sign`` and ``sign_type`` with Alipay's key.

The "cashier" pages (``/h5pay``, ``/alipay-cashier``) stand in for the providers' own payment pages: a person taps
"pay", the fake marks the order paid, sends the notification (unless told to drop it) and sends the browser back.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign(key: rsa.RSAPrivateKey, text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(public: Any, text: str | bytes, signature: str) -> bool:
    data = text.encode() if isinstance(text, str) else text
    try:
        public.verify(base64.b64decode(signature), data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


class _Server:
    """A threaded HTTP server on 127.0.0.1 with a free port; ``handle(method, path, headers, body)`` answers."""

    def start(self) -> _Server:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _go(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = outer.handle(method, self.path, self.headers, body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._go("GET")

            def do_POST(self) -> None:
                self._go("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    @staticmethod
    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 (local test address)
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)


def _page(title: str, body: str) -> bytes:
    return (f'<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>{html.escape(title)}</title></head><body>{body}</body></html>").encode()


# ---- WeChat Pay v3 -------------------------------------------------------------------------------------------------
class FakeWeChatPayV3(_Server):
    def __init__(self) -> None:
        self.platform_key = new_key()
        self.public_key_id = "PUB_KEY_ID_0114232134912410000" + secrets.token_hex(2)
        self.api_v3_key = secrets.token_hex(16)
        self.merchant_key = new_key()
        self.mchid = "1900000109"
        self.merchant_serial = secrets.token_hex(20).upper()
        self.appid = "wxd678efh567hg6787"
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status answered)
        self.notifications: list[tuple[dict[str, str], bytes, int]] = []
        self.drop_notifications = False

    def merchant_fields(self) -> dict[str, Any]:
        return {
            "merchant_id": self.mchid, "app_id": self.appid, "merchant_serial": self.merchant_serial,
            "private_key": private_pem(self.merchant_key), "api_v3_key": self.api_v3_key,
            "platform_public_key": public_pem(self.platform_key), "platform_key_id": self.public_key_id,
            "enabled": True,
        }

    # the platform's signature on what it sends
    def _signed(self, status: int, body: bytes) -> tuple[int, dict[str, str], bytes]:
        stamp, nonce = str(int(time.time())), secrets.token_hex(16)
        signature = sign(self.platform_key, f"{stamp}\n{nonce}\n".encode() + body + b"\n")
        return status, {
            "Content-Type": "application/json", "Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature, "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048", "Request-ID": secrets.token_hex(8),
        }, body

    def _error(self, status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps({"code": code, "message": message}).encode()

    def _authorized(self, method: str, path: str, headers: Any, body: bytes) -> str:
        """'' when the merchant's request signature verifies, else the reason."""
        auth = headers.get("Authorization", "")
        scheme, _, rest = auth.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return "scheme"
        fields = dict(part.split("=", 1) for part in rest.split(","))
        fields = {k.strip(): v.strip().strip('"') for k, v in fields.items()}
        if fields.get("mchid") != self.mchid or fields.get("serial_no") != self.merchant_serial:
            return "merchant"
        if abs(time.time() - int(fields.get("timestamp", "0"))) > 300:
            return "timestamp"
        message = f"{method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + body + b"\n"
        return "" if verify(self.merchant_key.public_key(), message, fields.get("signature", "")) else "signature"

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        answer = self._handle(method, path, headers, body)
        self.requests.append((method, path, answer[0]))
        return answer

    def _handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = urllib.parse.urlsplit(path)
        if url.path == "/h5pay" and method == "GET":
            return self._cashier(urllib.parse.parse_qs(url.query))
        if url.path == "/h5pay/confirm" and method == "POST":
            form = urllib.parse.parse_qs(body.decode())
            out_trade_no = form["out_trade_no"][0]
            self.pay(out_trade_no)
            back = form.get("redirect_url", [""])[0]
            return 302, {"Location": back or "/"}, b""
        if not url.path.startswith("/v3/"):
            return 404, {}, b""
        reason = self._authorized(method, path, headers, body)
        if reason:
            return self._error(401, "SIGN_ERROR", f"signature check failed ({reason})")
        if method == "POST" and url.path.startswith("/v3/pay/transactions/") and url.path.count("/") == 4:
            return self._prepay(url.path.rsplit("/", 1)[1], json.loads(body))
        if method == "GET" and url.path.startswith("/v3/pay/transactions/out-trade-no/"):
            order = self.orders.get(url.path.rsplit("/", 1)[1])
            if order is None:
                return self._signed(404, json.dumps({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}).encode())
            return self._signed(200, json.dumps(self._transaction(order)).encode())
        if method == "POST" and url.path.endswith("/close"):
            order = self.orders.get(url.path.split("/")[-2])
            if order is not None and order["trade_state"] == "NOTPAY":
                order["trade_state"] = "CLOSED"
            return self._signed(204, b"")
        if method == "POST" and url.path == "/v3/refund/domestic/refunds":
            return self._refund(json.loads(body))
        if method == "GET" and url.path.startswith("/v3/refund/domestic/refunds/"):
            refund = self.refunds.get(url.path.rsplit("/", 1)[1])
            if refund is None:
                return self._signed(404, json.dumps({"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}).encode())
            return self._signed(200, json.dumps(self._refund_resource(refund)).encode())
        return self._error(404, "NOT_FOUND", "no such API")

    # refunds (申请退款 / 查询单笔退款 / 退款结果通知)
    refund_status = "PROCESSING"  # what a new refund answers: "PROCESSING" (the usual) or "SUCCESS"

    @property
    def refunds(self) -> dict[str, dict[str, Any]]:
        if not hasattr(self, "_refunds"):
            self._refunds: dict[str, dict[str, Any]] = {}
        return self._refunds

    def _refund(self, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        existing = self.refunds.get(str(data.get("out_refund_no", "")))
        if existing is not None:  # the same refund number never refunds twice
            return self._signed(200, json.dumps(self._refund_resource(existing)).encode())
        order = self.orders.get(str(data.get("out_trade_no", "")))
        amount = data.get("amount") or {}
        if order is None or order["trade_state"] != "SUCCESS":
            return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if int(amount.get("total") or 0) != order["total"]:
            return self._error(400, "PARAM_ERROR", "订单金额不一致")
        done = sum(r["refund"] for r in self.refunds.values() if r["out_trade_no"] == order["out_trade_no"])
        if int(amount.get("refund") or 0) <= 0 or done + int(amount["refund"]) > order["total"]:
            return self._error(403, "NOT_ENOUGH", "退款金额超过可退金额")
        refund = {"out_refund_no": data["out_refund_no"], "out_trade_no": order["out_trade_no"],
                  "transaction_id": order["transaction_id"], "refund_id": "5030" + secrets.token_hex(12),
                  "refund": int(amount["refund"]), "total": order["total"], "status": self.refund_status,
                  "notify_url": data.get("notify_url", "")}
        self.refunds[refund["out_refund_no"]] = refund
        return self._signed(200, json.dumps(self._refund_resource(refund)).encode())

    def _refund_resource(self, refund: dict[str, Any]) -> dict[str, Any]:
        return {
            "refund_id": refund["refund_id"], "out_refund_no": refund["out_refund_no"],
            "transaction_id": refund["transaction_id"], "out_trade_no": refund["out_trade_no"], "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱", "status": refund["status"],
            "create_time": dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds"),
            "amount": {"total": refund["total"], "refund": refund["refund"], "payer_total": refund["total"],
                       "payer_refund": refund["refund"], "settlement_refund": refund["refund"],
                       "settlement_total": refund["total"], "discount_refund": 0, "currency": "CNY"},
        }

    def refund_complete(self, out_refund_no: str, *, notify: bool = True, status: str = "SUCCESS") -> tuple[dict[str, str], bytes]:
        """The money reached the payer: the refund is SUCCESS and the REFUND.SUCCESS notification is POSTed to its
        notify_url. Returns the notification so a test can replay it."""
        refund = self.refunds[out_refund_no]
        refund["status"] = status
        resource = {
            "mchid": self.mchid, "out_trade_no": refund["out_trade_no"], "transaction_id": refund["transaction_id"],
            "out_refund_no": out_refund_no, "refund_id": refund["refund_id"], "refund_status": status,
            "success_time": dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds"),
            "user_received_account": "支付用户零钱",
            "amount": {"total": refund["total"], "refund": refund["refund"], "payer_total": refund["total"],
                       "payer_refund": refund["refund"]},
        }
        nonce, associated = secrets.token_hex(6), "refund"
        cipher = AESGCM(self.api_v3_key.encode()).encrypt(nonce.encode(), json.dumps(resource).encode(), associated.encode())
        body = json.dumps({
            "id": secrets.token_hex(16), "create_time": resource["success_time"], "resource_type": "encrypt-resource",
            "event_type": f"REFUND.{status}", "summary": "退款成功",
            "resource": {"original_type": "refund", "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(cipher).decode(), "associated_data": associated, "nonce": nonce},
        }).encode()
        stamp, sign_nonce = str(int(time.time())), secrets.token_hex(16)
        headers = {
            "Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": sign_nonce, "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature": sign(self.platform_key, f"{stamp}\n{sign_nonce}\n".encode() + body + b"\n"),
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }
        if notify and refund["notify_url"]:
            status_code = self.post(refund["notify_url"], body, {**headers, "Content-Type": "application/json"})
            self.notifications.append((headers, body, status_code))
        return headers, body

    def _prepay(self, trade_type: str, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        missing = [k for k in ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount") if not data.get(k)]
        if trade_type == "h5" and not (data.get("scene_info") or {}).get("payer_client_ip"):
            missing.append("scene_info")
        if trade_type == "jsapi" and not (data.get("payer") or {}).get("openid"):
            missing.append("payer")
        if missing:
            return self._error(400, "PARAM_ERROR", f"missing {','.join(missing)}")
        if data["mchid"] != self.mchid or data["appid"] != self.appid:
            return self._error(400, "APPID_MCHID_NOT_MATCH", "appid and mchid do not match")
        out_trade_no = data["out_trade_no"]
        order = self.orders.setdefault(out_trade_no, {
            "out_trade_no": out_trade_no, "total": int(data["amount"]["total"]), "notify_url": data["notify_url"],
            "trade_type": trade_type.upper(), "trade_state": "NOTPAY", "transaction_id": "",
            "description": data["description"],
        })
        prepay_id = "wx" + secrets.token_hex(14)
        order["prepay_id"] = prepay_id
        if trade_type == "h5":
            answer = {"h5_url": f"{self.base}/h5pay?prepay_id={prepay_id}&out_trade_no={out_trade_no}"}
        elif trade_type == "native":
            answer = {"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}"}
        else:
            answer = {"prepay_id": prepay_id}
        return self._signed(200, json.dumps(answer).encode())

    def _cashier(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        out_trade_no = query.get("out_trade_no", [""])[0]
        order = self.orders.get(out_trade_no)
        if order is None:
            return 404, {}, _page("WeChat Pay", "<p>unknown order</p>")
        back = html.escape(query.get("redirect_url", [""])[0])
        body = (f"<h1>微信支付 WeChat Pay (test)</h1><p>{html.escape(order['description'])}</p>"
                f"<p data-testid='fake-amount'>¥{order['total'] / 100:.2f}</p>"
                f"<form method='post' action='/h5pay/confirm'><input type='hidden' name='out_trade_no' "
                f"value='{html.escape(out_trade_no)}'><input type='hidden' name='redirect_url' value='{back}'>"
                f"<button type='submit' data-testid='fake-wechat-pay'>确认支付 Pay</button></form>")
        return 200, {"Content-Type": "text/html; charset=utf-8"}, _page("WeChat Pay", body)

    def _transaction(self, order: dict[str, Any]) -> dict[str, Any]:
        data = {
            "appid": self.appid, "mchid": self.mchid, "out_trade_no": order["out_trade_no"],
            "trade_type": order["trade_type"], "trade_state": order["trade_state"],
            "trade_state_desc": "支付成功" if order["trade_state"] == "SUCCESS" else "未支付",
            "amount": {"total": order["total"], "currency": "CNY", "payer_total": order["total"], "payer_currency": "CNY"},
        }
        if order["trade_state"] == "SUCCESS":
            data.update(transaction_id=order["transaction_id"], bank_type="OTHERS",
                        success_time=dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds"),
                        payer={"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"})
        return data

    def pay(self, out_trade_no: str, *, notify: bool | None = None, total: int | None = None) -> tuple[dict[str, str], bytes]:
        """The payer paid: the order is SUCCESS and (unless dropped) the notification is POSTed to its notify_url.
        Returns the notification (headers, body) so a test can replay it."""
        order = self.orders[out_trade_no]
        if order["trade_state"] != "SUCCESS":
            order["trade_state"], order["transaction_id"] = "SUCCESS", "4200" + secrets.token_hex(12)
        headers, body = self.notification(out_trade_no, total=total)
        if notify if notify is not None else not self.drop_notifications:
            status = self.post(order["notify_url"], body, {**headers, "Content-Type": "application/json"})
            self.notifications.append((headers, body, status))
        return headers, body

    def notification(self, out_trade_no: str, *, total: int | None = None, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
        order = self.orders[out_trade_no]
        resource = self._transaction(order)
        if total is not None:
            resource["amount"]["total"] = resource["amount"]["payer_total"] = total
        nonce, associated = secrets.token_hex(6), "transaction"
        cipher = AESGCM(self.api_v3_key.encode()).encrypt(nonce.encode(), json.dumps(resource).encode(), associated.encode())
        body = json.dumps({
            "id": secrets.token_hex(16), "create_time": resource.get("success_time", ""), "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(cipher).decode(), "associated_data": associated, "nonce": nonce},
        }).encode()
        stamp, sign_nonce = str(timestamp or int(time.time())), secrets.token_hex(16)
        return {
            "Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": sign_nonce, "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature": sign(self.platform_key, f"{stamp}\n{sign_nonce}\n".encode() + body + b"\n"),
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }, body


# ---- Alipay --------------------------------------------------------------------------------------------------------
class FakeAlipay(_Server):
    def __init__(self) -> None:
        self.alipay_key = new_key()
        self.app_key = new_key()
        self.app_id = "2021000117600000"
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.notifications: list[tuple[dict[str, str], int]] = []
        self.drop_notifications = False

    def merchant_fields(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id, "private_key": private_pem(self.app_key),
            "platform_public_key": public_pem(self.alipay_key), "enabled": True,
        }

    @property
    def gateway(self) -> str:
        return f"{self.base}/gateway.do"

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        answer = self._handle(method, path, headers, body)
        self.requests.append((method, urllib.parse.urlsplit(path).path, answer[0]))
        return answer

    def _handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = urllib.parse.urlsplit(path)
        if url.path == "/cashier/confirm" and method == "POST":
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
            order = self.orders[form["out_trade_no"]]
            self.pay(form["out_trade_no"])
            back = order.get("return_url") or "/"
            params = {"out_trade_no": order["out_trade_no"], "trade_no": order["trade_no"], "app_id": self.app_id,
                      "total_amount": order["total_amount"], "method": "alipay.trade.wap.pay.return"}
            return 302, {"Location": back + ("&" if "?" in back else "?") + urllib.parse.urlencode(params)}, b""
        if url.path != "/gateway.do":
            return 404, {}, b""
        params = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        signature = params.pop("sign", "")
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        api = params.get("method", "")
        if params.get("app_id") != self.app_id or params.get("sign_type") != "RSA2" or not verify(
            self.app_key.public_key(), unsigned, signature
        ):
            return self._answer(api, {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature",
                                      "sub_msg": "验签出错"}, signed=False)
        biz = json.loads(params.get("biz_content") or "{}")
        if api in ("alipay.trade.wap.pay", "alipay.trade.page.pay"):
            order = self.orders.setdefault(biz["out_trade_no"], {
                "out_trade_no": biz["out_trade_no"], "total_amount": biz["total_amount"], "subject": biz["subject"],
                "notify_url": params.get("notify_url", ""), "return_url": params.get("return_url", ""),
                "trade_status": "WAIT_BUYER_PAY", "trade_no": "",
            })
            page = (f"<h1>支付宝 Alipay (test)</h1><p>{html.escape(order['subject'])}</p>"
                    f"<p data-testid='fake-amount'>¥{html.escape(order['total_amount'])}</p>"
                    f"<form method='post' action='/cashier/confirm'><input type='hidden' name='out_trade_no' "
                    f"value='{html.escape(order['out_trade_no'])}'>"
                    f"<button type='submit' data-testid='fake-alipay-pay'>确认付款 Pay</button></form>")
            return 200, {"Content-Type": "text/html; charset=utf-8"}, _page("Alipay", page)
        order = self.orders.get(biz.get("out_trade_no", ""))
        if order is None:
            return self._answer(api, {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST",
                                      "sub_msg": "交易不存在"})
        if api == "alipay.trade.query":
            return self._answer(api, {
                "code": "10000", "msg": "Success", "out_trade_no": order["out_trade_no"], "trade_no": order["trade_no"],
                "trade_status": order["trade_status"], "total_amount": order["total_amount"],
                "buyer_logon_id": "159****5620",
            })
        if api == "alipay.trade.refund":
            refunds = order.setdefault("refunds", {})
            no = biz.get("out_request_no") or order["out_trade_no"]
            if no not in refunds:
                done = sum(float(v) for v in refunds.values())
                if order["trade_status"] != "TRADE_SUCCESS" or done + float(biz["refund_amount"]) > float(order["total_amount"]) + 1e-9:
                    return self._answer(api, {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                                              "sub_msg": "退款金额超限"})
                refunds[no] = biz["refund_amount"]
            total = sum(float(v) for v in refunds.values())
            return self._answer(api, {"code": "10000", "msg": "Success", "trade_no": order["trade_no"],
                                      "out_trade_no": order["out_trade_no"], "buyer_logon_id": "159****5620",
                                      "fund_change": "Y", "refund_fee": f"{total:.2f}"})
        if api == "alipay.trade.fastpay.refund.query":
            refunds = order.get("refunds", {})
            no = biz.get("out_request_no", "")
            if no not in refunds:
                return self._answer(api, {"code": "10000", "msg": "Success"})
            return self._answer(api, {"code": "10000", "msg": "Success", "trade_no": order["trade_no"],
                                      "out_trade_no": order["out_trade_no"], "out_request_no": no,
                                      "refund_amount": refunds[no], "total_amount": order["total_amount"],
                                      "refund_status": "REFUND_SUCCESS"})
        if api == "alipay.trade.close":
            if order["trade_status"] == "WAIT_BUYER_PAY":
                order["trade_status"] = "TRADE_CLOSED"
            return self._answer(api, {"code": "10000", "msg": "Success", "out_trade_no": order["out_trade_no"]})
        return self._answer(api, {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"})

    def _answer(self, api: str, content: dict[str, Any], *, signed: bool = True) -> tuple[int, dict[str, str], bytes]:
        name = (api or "error").replace(".", "_") + "_response"
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        raw = f'{{"{name}":{text}' + (f',"sign":"{sign(self.alipay_key, text)}"' if signed else "") + "}"
        return 200, {"Content-Type": "application/json;charset=utf-8"}, raw.encode()

    def pay(self, out_trade_no: str, *, notify: bool | None = None, total_amount: str | None = None) -> dict[str, str]:
        order = self.orders[out_trade_no]
        if order["trade_status"] != "TRADE_SUCCESS":
            order["trade_status"], order["trade_no"] = "TRADE_SUCCESS", "2026" + secrets.token_hex(12)
        form = self.notification(out_trade_no, total_amount=total_amount)
        if notify if notify is not None else not self.drop_notifications:
            status = self.post(order["notify_url"], urllib.parse.urlencode(form).encode(),
                               {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
            self.notifications.append((form, status))
        return form

    def notification(self, out_trade_no: str, *, total_amount: str | None = None) -> dict[str, str]:
        order = self.orders[out_trade_no]
        now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
        form = {
            "notify_time": now, "notify_type": "trade_status_sync", "notify_id": secrets.token_hex(16),
            "app_id": self.app_id, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
            "trade_no": order["trade_no"], "out_trade_no": out_trade_no, "trade_status": order["trade_status"],
            "total_amount": total_amount or order["total_amount"], "receipt_amount": order["total_amount"],
            "buyer_id": "2088102122524333", "seller_id": "2088101106499364", "gmt_create": now, "gmt_payment": now,
            "subject": order["subject"],
        }
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(form.items()) if k not in ("sign", "sign_type"))
        form["sign"] = sign(self.alipay_key, unsigned)
        return form
