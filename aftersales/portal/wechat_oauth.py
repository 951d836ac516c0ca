"""WeChat official-account web authorisation (网页授权, OAuth2 ``snsapi_base``): the silent redirect that gives the
owner's ``openid`` under the official account, so that WeChat Pay JSAPI (which needs the payer's openid under the
same app ID as the merchant account) works inside WeChat's browser.

1. ``authorize_url``: the browser goes to ``open.weixin.qq.com/connect/oauth2/authorize?appid=…&redirect_uri=…&
   response_type=code&scope=snsapi_base&state=…#wechat_redirect``; WeChat sends it back with ``code`` and ``state``.
2. ``openid_for_code``: our server exchanges the code (single use, 5 minutes) at ``api.weixin.qq.com/sns/oauth2/
   access_token?appid=…&secret=…&code=…&grant_type=authorization_code`` for ``{"openid": …}``; errors come back as
   ``{"errcode": …, "errmsg": …}`` with HTTP 200.

Settings: ``WECHAT_MP_APP_ID`` / ``WECHAT_MP_APP_SECRET`` (the official account; its app ID is the one in the stores'
WeChat Pay merchant accounts), and the addresses ``WECHAT_OAUTH_AUTHORIZE_URL`` / ``WECHAT_OAUTH_API`` (local fakes
in tests). Nothing here writes to the database.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings

AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
API = "https://api.weixin.qq.com"
TIMEOUT = (5, 10)


class OAuthError(Exception):
    """WeChat refused the code (used, expired, wrong secret) or could not be reached; for the log only."""


def configured() -> bool:
    return bool(getattr(settings, "WECHAT_MP_APP_ID", "") and getattr(settings, "WECHAT_MP_APP_SECRET", ""))


def authorize_url(*, redirect_uri: str, state: str) -> str:
    base = getattr(settings, "WECHAT_OAUTH_AUTHORIZE_URL", "") or AUTHORIZE_URL
    query = urlencode({"appid": settings.WECHAT_MP_APP_ID, "redirect_uri": redirect_uri, "response_type": "code",
                       "scope": "snsapi_base", "state": state})
    return f"{base}?{query}#wechat_redirect"


def openid_for_code(code: str) -> str:
    import requests

    api = (getattr(settings, "WECHAT_OAUTH_API", "") or API).rstrip("/")
    try:
        answer = requests.get(f"{api}/sns/oauth2/access_token", params={
            "appid": settings.WECHAT_MP_APP_ID, "secret": settings.WECHAT_MP_APP_SECRET, "code": code,
            "grant_type": "authorization_code",
        }, timeout=TIMEOUT)
        data = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise OAuthError(f"wechat oauth: {exc}") from exc
    if not isinstance(data, dict) or data.get("errcode") or not data.get("openid"):
        raise OAuthError(f"wechat oauth: {data.get('errcode') if isinstance(data, dict) else data} "
                         f"{data.get('errmsg', '') if isinstance(data, dict) else ''}")
    return str(data["openid"])[:64]
