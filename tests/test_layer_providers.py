"""The slots lower apps define and higher apps fill in their AppConfig.ready() (issue 19, CONTRIBUTING "Layers"):
every one is filled once the project is loaded, so no answer silently falls back to "nothing"."""

from aftersales.billing import care_plan
from aftersales.common import audit, names, scoping
from aftersales.customers import selectors as customer_selectors
from aftersales.customers import tiers
from aftersales.mobility import vouchers
from aftersales.parts import invoiced
from aftersales.vehicles import owners
from aftersales.workshop import status_links


def test_every_slot_is_filled_by_the_app_above():
    assert set(scoping._ROWS) == {"stores", "customer_stores"}
    assert set(names._SOURCES) == {"guide", "checklist", "order_parts"}
    assert set(audit.AUDIT_KEY_CHOICES) == {"consent"}
    for slot in (tiers._reader, owners._LOOKUP, status_links._STATUS_URL, care_plan._PLAN, vouchers._CHECK, invoiced._CHECK):
        assert len(slot) == 1, slot
    sections = [f.__module__ for f in customer_selectors.EXPORT_SECTIONS]
    assert "aftersales.workshop.exports" in sections
