from decimal import Decimal

import pytest

from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.parts import catalogue
from aftersales.parts.models import Part, PartAlias, PriceListItem

from .partsui_helpers import make_part


def test_create_normalises_number_and_records_audit(world):
    part = make_part(world, " 04152-yzza1 ", aliases=[{"number": "w 712/75", "brand": "MANN"}, {"number": "90915yzze1", "is_oem": True}])
    assert part.number == "04152-YZZA1"
    assert sorted(PartAlias.objects.filter(part=part).values_list("number", flat=True)) == ["90915YZZE1", "W 712/75"]
    assert AuditEvent.objects.filter(action="part.created", object_id=str(part.pk)).exists()


def test_duplicate_number_is_409_on_number(world):
    make_part(world, "ABC-1")
    with pytest.raises(Conflict) as exc:
        make_part(world, "abc-1")
    assert exc.value.status == 409 and exc.value.field == "number"
    assert Part.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("unit", "bucket", "invalid_choice"),
        ("category", "nope", "invalid_choice"),
        ("tracking", "maybe", "invalid_choice"),
        ("sale_price", "-1", "money_negative"),
        ("cost_price", "1.234", "money_precision"),
        ("tax_rate", "1.5", "tax_rate_range"),
        ("warranty_months", "-3", "negative"),
        ("warranty_km", "1.5", "not_whole"),
        ("name_zh", "  ", "required"),
        ("number", "ABC$1", "number_format"),
    ],
)
def test_validation_names_the_field_and_writes_nothing(world, field, value, code):
    with pytest.raises(ValidationFailed) as exc:
        make_part(world, **{"number": "X-1", field: value})
    assert exc.value.field == field and exc.value.code == code
    assert not Part.objects.exists() and not AuditEvent.objects.filter(action="part.created").exists()


def test_update_changes_only_given_fields_and_is_quiet_without_change(world):
    part = make_part(world)
    catalogue.part_update(actor=world.admin, part=part, sale_price="70.00", aliases=[{"number": "X1", "brand": "Bosch"}])
    part.refresh_from_db()
    assert part.sale_price == Decimal("70.00") and part.name_zh == "机油滤清器"
    before = AuditEvent.objects.count()
    catalogue.part_update(actor=world.manager, part=part, sale_price="70", aliases=[{"number": "x1", "brand": "Bosch"}])
    # (a store's manager may save the part unchanged: only a price change needs a group-level role)
    assert AuditEvent.objects.count() == before


def test_rename_to_existing_number_conflicts(world):
    make_part(world, "A-1")
    b = make_part(world, "B-1")
    with pytest.raises(Conflict):
        catalogue.part_update(actor=world.manager, part=b, number="a-1")


def test_permissions(world):
    with pytest.raises(Forbidden):
        catalogue.part_create(actor=world.advisor, group=world.group, number="A-1", name_zh="滤清器")
    part = make_part(world)
    with pytest.raises(Forbidden):
        catalogue.part_update(actor=world.technician, part=part, sale_price="1")


def test_price_lists_and_price_for(world):
    catalogue.price_list_create(actor=world.manager, group=world.group, code="fleet", name="Fleet")
    part = make_part(world, prices={"fleet": "55.00"})
    assert catalogue.price_for(part, "fleet") == Decimal("55.00")
    assert catalogue.price_for(part, "retail") == Decimal("68.00")  # not on that list: the part's price
    assert catalogue.price_for(part) == Decimal("68.00")
    catalogue.part_set_price(actor=world.admin, part=part, price_list_code="fleet", price=None)
    assert not PriceListItem.objects.filter(part=part).exists()
    with pytest.raises(ValidationFailed) as exc:
        catalogue.part_update(actor=world.manager, part=part, prices={"nope": "1"})
    assert exc.value.field == "price:nope"
    with pytest.raises(Conflict):
        catalogue.price_list_create(actor=world.manager, group=world.group, code="fleet")


@pytest.mark.parametrize("change", [{"sale_price": "1.00"}, {"cost_price": "1.00"}, {"tax_rate": "0.06"},
                                    {"prices": {"fleet": "1.00"}}])
def test_only_group_level_roles_change_shared_prices(world, change):
    """Issue 13, item 10: every store shares the catalogue, so a store's manager or parts clerk cannot reprice it."""
    from aftersales.common.errors import Forbidden

    catalogue.price_list_create(actor=world.admin, group=world.group, code="fleet", name="Fleet")
    part = make_part(world, prices={"fleet": "55.00"})
    before = AuditEvent.objects.count()
    for actor in (world.manager, world.staff["parts_clerk"]):
        with pytest.raises(Forbidden) as exc:
            catalogue.part_update(actor=actor, part=part, name_zh="新名字", **change)
        assert exc.value.code == "price_group_only"
        part.refresh_from_db()
        assert part.name_zh == "机油滤清器" and part.sale_price == Decimal("68.00")  # nothing written
        assert catalogue.price_for(part, "fleet") == Decimal("55.00")
    assert AuditEvent.objects.count() == before
    catalogue.part_update(actor=world.manager, part=part, name_zh="新名字")  # other fields stay the store's
    catalogue.part_update(actor=world.admin, part=part, **change)
    assert AuditEvent.objects.count() == before + 2
