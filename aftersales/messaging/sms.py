"""How an SMS is billed: its length and the number of parts a carrier charges for.

GSM-7 texts (plain Latin letters, digits and common signs) take 160 characters in one part and 153 per part when
the text is split; any other character (Chinese, “curly quotes”, ¥) makes the whole text UCS-2: 70 characters in
one part, 67 per part when split. Characters of the GSM extension table (€ [ ] { } ^ ~ \\ |) count twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSize:
    length: int  # characters as billed (extension characters count twice; UTF-16 units for UCS-2)
    parts: int
    unicode: bool
    per_part: int  # characters per part at this length (70/67 or 160/153)


def sms_size(text: str) -> SmsSize:
    if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text):
        length = sum(2 if c in GSM_EXTENSION else 1 for c in text)
        single, multi, unicode = 160, 153, False
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, multi, unicode = 70, 67, True
    if length <= single:
        return SmsSize(length=length, parts=1 if length else 0, unicode=unicode, per_part=single)
    return SmsSize(length=length, parts=math.ceil(length / multi), unicode=unicode, per_part=multi)
