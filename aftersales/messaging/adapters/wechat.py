"""WeChat Official Account template messages through ``wechatpy``.

The template message API has no way to ask afterwards whether a message went out, so ``reconcile`` cannot tell
and a crash mid-send leaves the message ``unknown`` for a person to check (never resent automatically). Each send
carries ``client_msg_id`` (WeChat's documented 防重入 id: one message per OpenID + id within 10 minutes), so a
retry after a timeout within that window does not reach the customer twice.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests
from django.core.cache import caches
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from .base import Adapter, CannotTell, PermanentError, SendResult, TemporaryError
from .provider_common import template_values

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com/cgi-bin/"
TIMEOUT = 10
TOKEN_MARGIN = 300  # stop using a token five minutes before WeChat says it expires

TOKEN_INVALID = {40001, 40014, 42001}  # invalid / expired access token: fetch a new one, try again later
TEMPORARY = {-1, 45009, 45011, 45047}  # system busy, API daily/minute quota
PERMANENT = {
    43004,  # the user does not follow the account (unsubscribed)
    43101,  # the user refused this template's messages
    40003,  # invalid OpenID
    40037,  # invalid template id
    47001,  # data format error
    47003,  # template data missing or invalid
    48001,  # API not authorised for this account
}
#: errors fetching the token mean the store's app id / secret / IP allow-list are wrong: fix the settings, re-run
TOKEN_CONFIG_ERRORS = {40001, 40002, 40013, 40125, 40164, 41002, 41004, 89503}


_token_locks: dict[str, threading.Lock] = {}
_token_locks_guard = threading.Lock()


def _token_lock(app_id: str) -> threading.Lock:
    """One token fetch at a time per app in this process (the sending threads would otherwise all fetch one)."""
    with _token_locks_guard:
        return _token_locks.setdefault(app_id, threading.Lock())


class DjangoCacheSessionStorage(SessionStorage):
    """wechatpy's token storage on Django's cache (``caches["default"]``), honouring the token's lifetime.

    Across processes when the deployment configures a shared cache (Redis, database or file cache); with the
    default local-memory cache each worker process keeps its own token. That still works: WeChat keeps the previous
    token valid for five minutes after a new one is issued, and a 40001/42001 drops our copy so the next attempt
    fetches a fresh one. Either way the token is shared by every adapter in the process (one fetch, not one per
    message: the token endpoint is limited to 2,000 calls a day).
    """

    prefix = "aftersales:wechatpy:"

    def get(self, key: str, default: Any = None) -> Any:
        return caches["default"].get(self.prefix + key, default)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        timeout = None if ttl is None else max(int(ttl) - TOKEN_MARGIN, 1)
        caches["default"].set(self.prefix + key, value, timeout)

    def delete(self, key: str) -> None:
        caches["default"].delete(self.prefix + key)


class AftersalesWeChatClient(WeChatClient):
    """``WeChatClient`` whose API base (token endpoint included) can point at a local server, with timeouts."""

    def __init__(self, appid: str, secret: str, *, api_base: str = "", session: SessionStorage | None = None) -> None:
        super().__init__(appid, secret, session=session or DjangoCacheSessionStorage(), timeout=TIMEOUT, auto_retry=False)
        self.API_BASE_URL = api_base_url(api_base)

    def fetch_access_token(self) -> dict[str, Any]:
        # wechatpy's own fetch always calls api.weixin.qq.com and has no timeout
        response = self._http.get(
            f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=TIMEOUT,
        )
        try:
            response.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(None, None, client=self, request=exc.request, response=exc.response) from exc
        result = response.json()
        if result.get("errcode", 0) != 0:
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""), client=self, response=response)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    def forget_token(self) -> None:
        self.session.delete(self.access_token_key)
        self.expires_at = None


def api_base_url(override: str) -> str:
    """``http://127.0.0.1:8082`` or ``…/cgi-bin`` → ``http://127.0.0.1:8082/cgi-bin/``."""
    base = (override or "").strip().rstrip("/")
    if not base:
        return DEFAULT_API_BASE
    if not base.endswith("/cgi-bin"):
        base += "/cgi-bin"
    return base + "/"


class WeChatTemplateAdapter(Adapter):
    provider = "wechat"
    idempotent = False  # client_msg_id de-duplicates for 10 minutes only; a crash is resolved by a person

    def __init__(self, settings_row: Any) -> None:
        super().__init__(settings_row)
        self.client = AftersalesWeChatClient(
            settings_row.wechat_app_id, settings_row.wechat_app_secret, api_base=settings_row.wechat_api_base
        )

    def send(self, message: Any) -> SendResult:
        if not (self.settings.wechat_app_id and self.settings.wechat_app_secret):
            raise PermanentError("WeChat is not configured for this store (app id and secret)")
        if not message.provider_template_code:
            raise PermanentError("no WeChat template id on the message's template")
        try:
            with _token_lock(self.settings.wechat_app_id):
                self.client.access_token  # noqa: B018 (fetches and caches the token when needed)
        except WeChatClientException as exc:
            if exc.errcode in TOKEN_CONFIG_ERRORS:
                raise PermanentError(f"WeChat token: {exc.errcode} {exc.errmsg} (check the app id, secret and IP allow-list)") from exc
            raise TemporaryError(f"WeChat token: {exc.errcode} {exc.errmsg}") from exc
        except (requests.RequestException, ValueError) as exc:
            raise TemporaryError(f"WeChat token: {type(exc).__name__}: {exc}") from exc
        values = template_values(message)
        payload = {
            "touser": message.recipient,
            "template_id": message.provider_template_code,
            "data": {name: {"value": value} for name, value in values},
            "client_msg_id": f"aftersales-msg-{message.pk}",
        }
        link = (message.variables or {}).get("link")
        if link:
            payload["url"] = str(link)
        try:
            # = client.message.send_template(...), plus client_msg_id, which wechatpy does not pass on
            result = self.client.post("message/template/send", data=payload)
        except WeChatClientException as exc:
            code = exc.errcode
            if code in TOKEN_INVALID:
                self.client.forget_token()
                raise TemporaryError(f"WeChat {code}: {exc.errmsg} (token refreshed)") from exc
            if code is None or code in TEMPORARY:
                raise TemporaryError(f"WeChat {code}: {exc.errmsg}") from exc
            if code in PERMANENT or 40000 <= code < 50000:
                raise PermanentError(f"WeChat {code}: {exc.errmsg}") from exc
            raise TemporaryError(f"WeChat {code}: {exc.errmsg}") from exc
        except (requests.RequestException, ValueError) as exc:
            raise TemporaryError(f"WeChat: {type(exc).__name__}: {exc}") from exc
        if not isinstance(result, dict):
            raise TemporaryError("WeChat answered with something that is not JSON")
        return SendResult(self.provider, str(result.get("msgid", "")))

    def reconcile(self, message: Any) -> SendResult | None:
        raise CannotTell("WeChat has no API to look up a template message after sending")
