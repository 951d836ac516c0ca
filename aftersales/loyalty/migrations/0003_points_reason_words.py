"""Points audit reasons written before they named the entry's kind and source in words (issue 16): two older forms,
a code with the raw values ``{"_t": "%(kind)s/%(source)s %(points)s %(note)s", "kind": "redeem", ...}`` and plain
text ``"redeem/gift -200 note"``, are rewritten as the code that renders "Redeemed · Gift -200 note" / "兑换 · 礼品 …"
in the reader's language. Anything else is left as it is."""

import json
import re

from django.db import migrations

KINDS = {"earn": "Earned", "redeem": "Redeemed", "expire": "Expired", "adjust": "Adjusted", "reverse": "Reversed"}
SOURCES = {"purchase": "Paid invoice", "checkin": "Check-in", "review": "Review", "referral": "Referral",
           "sharing": "Sharing", "invoice": "Paid with points on an invoice", "gift": "Gift",
           "manual": "Manual adjustment", "expiry": "Expiry"}
OLD = {"%(kind)s/%(source)s %(points)s %(note)s": "%(kind)s · %(source)s %(points)s %(note)s",
       "%(kind)s/%(source)s %(points)s %(note)s (owner app)": "%(kind)s · %(source)s %(points)s %(note)s (owner app)"}
PLAIN = re.compile(r"^([a-z]+)/([a-z]+) ([+-]\d+)(?: (.*))?$", re.S)


def _new(msgid, kind, source, points, note):
    if kind not in KINDS or source not in SOURCES:
        return None
    return json.dumps({"_t": msgid, "kind": {"_t": KINDS[kind]}, "source": {"_t": SOURCES[source]}, "points": points,
                       "note": note if note is not None else ""}, ensure_ascii=False, separators=(",", ":"))


def forwards(apps, schema_editor):
    AuditEvent = apps.get_model("common", "AuditEvent")
    rows = AuditEvent.objects.filter(action__startswith="points.").exclude(reason="").values_list("pk", "reason")
    changed = []
    for pk, reason in rows.iterator(chunk_size=2000):
        new = None
        if reason.startswith('{"_t":'):
            try:
                data = json.loads(reason)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("_t") in OLD:
                new = _new(OLD[data["_t"]], data.get("kind"), data.get("source"), data.get("points", ""), data.get("note"))
        else:
            match = PLAIN.match(reason)
            if match:
                new = _new(OLD["%(kind)s/%(source)s %(points)s %(note)s"], match[1], match[2], match[3], match[4] or "")
        if new is not None and len(new) <= 500:
            changed.append(AuditEvent(pk=pk, reason=new))
        if len(changed) >= 1000:
            AuditEvent.objects.bulk_update(changed, ["reason"])
            changed = []
    if changed:
        AuditEvent.objects.bulk_update(changed, ["reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0004_taskrun"),
        ("loyalty", "0002_points_clawback"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
