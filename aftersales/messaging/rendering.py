"""Template text: ``{{ variable }}`` placeholders, checked when saved and filled when a message is queued."""

from __future__ import annotations

import re
from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import override

from aftersales.common.errors import ValidationFailed

from .choices import Channel, Purpose
from .kinds import MessageKind

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
STRAY = re.compile(r"\{\{|\}\}")


def placeholders(text: str) -> list[str]:
    """The variable names used in ``text``, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def validate_text(text: str, kind: MessageKind, field: str) -> list[str]:
    """Refuse unknown variables and broken braces; return the variables used."""
    leftover = STRAY.search(PLACEHOLDER.sub("", text))
    if leftover:
        raise ValidationFailed(
            "template_syntax", _("Unclosed or stray “{{” / “}}”: write variables as {{ plate }}."), field
        )
    used = placeholders(text)
    unknown = [name for name in used if name not in kind.variables]
    if unknown:
        raise ValidationFailed(
            "template_unknown_variable",
            _("Unknown variable(s) %(names)s. Available: %(available)s.")
            % {"names": ", ".join(unknown), "available": ", ".join(sorted(kind.variables))},
            field,
        )
    return used


#: a full stop right after a sentence's own end mark ("。。", "！。", "..") where a variable ends with one and the text
#: goes on with another; an ellipsis ("……", "...") is left alone
_DOUBLED_CJK = re.compile(r"([。！？])。")
_DOUBLED_LATIN = re.compile(r"(?<![.])([.!?])\.(?=\s|$)")


def tidy(text: str) -> str:
    """The text without doubled sentence punctuation (a variable ending in "。" before a template's "。")."""
    return _DOUBLED_LATIN.sub(r"\1", _DOUBLED_CJK.sub(r"\1", text))


def fill(text: str, variables: dict[str, Any]) -> str:
    return tidy(PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), "")), text))


def sms_replies_configured() -> bool:
    """Whether customers' SMS replies reach us (the provider's reply callback is set up with its shared secret,
    MESSAGING_INBOUND_SECRET): only then may an SMS promise "reply TD to unsubscribe"."""
    from django.conf import settings

    return bool(getattr(settings, "MESSAGING_INBOUND_SECRET", ""))


def opt_out_footer(channel: str, language: str, link: str) -> str:
    """Every marketing message says how to opt out: a reply keyword for SMS when replies reach us (otherwise the
    opt-out link, as elsewhere), a link on every other channel. A promise we could not keep is never printed."""
    with override(language):
        if channel == Channel.SMS and sms_replies_configured():
            return _("Reply TD to unsubscribe")
        return _("Unsubscribe: %(link)s") % {"link": link}


def _missing_message(names: str) -> str:
    return _("The message needs the variable(s) %(names)s.") % {"names": names}


#: evaluated when shown (``str()`` on the staff member's page), not where raised
_missing_variables = lazy(_missing_message, str)


def render(
    *, body: str, subject: str, kind: MessageKind, channel: str, language: str, variables: dict[str, Any], opt_out_link: str
) -> tuple[str, str]:
    missing = [name for name in placeholders(body + subject) if name not in variables]
    if missing:  # said in the language of whoever reads the error, not the recipient's (rendering runs in that one)
        raise ValidationFailed("message_missing_variable", _missing_variables(", ".join(missing)), "variables")
    text = fill(body, variables)
    if kind.purpose == Purpose.MARKETING:
        text = f"{text}\n{opt_out_footer(channel, language, opt_out_link)}"
    return fill(subject, variables), text
