"""Which adapter delivers a message: by channel, and for SMS by the store's provider."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from aftersales.messaging.choices import Channel, SmsProvider

from .base import Adapter, PermanentError
from .local import AppAdapter, ConsoleAdapter, PhoneTaskAdapter
from .network import EmailAdapter, WebhookAdapter

SMS_PROVIDERS = {
    SmsProvider.CONSOLE: "aftersales.messaging.adapters.local:ConsoleAdapter",
    SmsProvider.ALIYUN: "aftersales.messaging.adapters.aliyun:AliyunSmsAdapter",
    SmsProvider.TENCENT: "aftersales.messaging.adapters.tencent:TencentSmsAdapter",
}


def _load(path: str) -> type[Adapter]:
    module, _sep, name = path.partition(":")
    return getattr(import_module(module), name)


def adapter_class(channel: str, settings_row: Any) -> type[Adapter]:
    if channel == Channel.SMS:
        return _load(SMS_PROVIDERS[settings_row.sms_provider])
    if channel == Channel.WECHAT:
        if settings_row.wechat_app_id:
            return _load("aftersales.messaging.adapters.wechat:WeChatTemplateAdapter")
        return ConsoleAdapter
    simple: dict[str, type[Adapter]] = {
        Channel.EMAIL: EmailAdapter, Channel.APP: AppAdapter, Channel.PHONE: PhoneTaskAdapter, Channel.WEBHOOK: WebhookAdapter,
    }
    if channel not in simple:
        raise PermanentError(f"no adapter for channel {channel}")
    return simple[channel]


def adapter_for(channel: str, settings_row: Any) -> Adapter:
    return adapter_class(channel, settings_row)(settings_row)
