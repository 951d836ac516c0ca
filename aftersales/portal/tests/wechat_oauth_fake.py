"""A local fake of WeChat's official-account web authorisation (OAuth2 snsapi_base), speaking its protocol:
``GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state`` sends the browser back to
``redirect_uri?code=…&state=…``; ``GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``
answers ``{"access_token", "expires_in", "refresh_token", "openid", "scope"}`` once per code, else
``{"errcode": 40029, "errmsg": "invalid code"}`` (HTTP 200, as WeChat does)."""

from __future__ import annotations

import json
import secrets
import urllib.parse
from typing import Any

from aftersales.billing.tests.provider_fakes import _Server


class FakeWeChatOAuth(_Server):
    def __init__(self) -> None:
        self.app_id = "wxd678efh567hg6787"
        self.secret = secrets.token_hex(16)
        self.codes: dict[str, str] = {}  # code -> openid (single use)
        self.openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = urllib.parse.urlsplit(path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/connect/oauth2/authorize":
            if query.get("appid") != self.app_id or query.get("response_type") != "code" or query.get("scope") not in (
                    "snsapi_base", "snsapi_userinfo"):
                return 200, {"Content-Type": "text/html"}, b"<p>10003 redirect_uri or appid wrong</p>"
            code = secrets.token_hex(16)
            self.codes[code] = self.openid
            back = query["redirect_uri"] + ("&" if "?" in query["redirect_uri"] else "?") + urllib.parse.urlencode(
                {"code": code, "state": query.get("state", "")})
            return 302, {"Location": back}, b""
        if url.path == "/sns/oauth2/access_token":
            if query.get("appid") != self.app_id or query.get("secret") != self.secret:
                return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
            openid = self.codes.pop(query.get("code", ""), None)
            if openid is None or query.get("grant_type") != "authorization_code":
                return self._json({"errcode": 40029, "errmsg": "invalid code"})
            return self._json({"access_token": secrets.token_hex(20), "expires_in": 7200,
                               "refresh_token": secrets.token_hex(20), "openid": openid, "scope": "snsapi_base"})
        return 404, {}, b""

    @staticmethod
    def _json(data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json; encoding=utf-8"}, json.dumps(data).encode()
