"""What every channel adapter does: send one message, and (where it can) tell whether a message was sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_message_id: str = ""


class TemporaryError(Exception):
    """The provider may accept it later (timeout, 5xx, rate limit): retry with backoff."""


class PermanentError(Exception):
    """It will never be accepted (bad number, rejected template): fail now, visibly."""


class CannotTell(Exception):
    """Reconciliation could not find out whether the provider got the message."""


class Adapter:
    provider = ""
    #: resending after a crash cannot produce a second delivery (the receiver de-duplicates on our id)
    idempotent = False
    #: writes only to our own database: run in the dispatcher's thread, no network
    local = False

    def __init__(self, settings_row: Any) -> None:
        self.settings = settings_row

    def send(self, message: Any) -> SendResult:
        raise NotImplementedError

    def reconcile(self, message: Any) -> SendResult | None:
        """After a crash mid-send: the result if the provider has the message, None if it surely does not."""
        raise CannotTell(self.provider)
