import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from aftersales.common.models import AuditEvent
from aftersales.parts import catalogue, importers
from aftersales.parts.models import Part, PartAlias, PriceListItem

from .partsui_helpers import make_part


@pytest.fixture
def priced(world):
    catalogue.price_list_create(actor=world.manager, group=world.group, code="fleet", name="Fleet")
    make_part(world, "04152-YZZA1", oem_number="04152-31090", warranty_months=12, prices={"fleet": "60.00"},
              aliases=[{"number": "W712/75", "brand": "MANN"}, {"number": "90915-YZZE1", "brand": "Toyota", "is_oem": True}])
    make_part(world, "OIL-0W20", name_zh="全合成机油 0W-20", unit="litre", sale_price="88.50", tax_rate="0.13")


def _book(rows, aliases=None, headers=None, alias_headers=None):
    wb = Workbook()
    ws = wb.active
    ws.title = "parts"
    ws.append(headers or ["number", "name_zh", "name_en", "unit", "sale_price", "warranty_months", "price:fleet"])
    for row in rows:
        ws.append(row)
    if aliases is not None:
        sheet = wb.create_sheet("aliases")
        sheet.append(alias_headers or ["part_number", "number", "brand", "is_oem"])
        for row in aliases:
            sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_export_then_import_is_idempotent(world, priced):
    data = importers.export_catalogue(world.group)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["parts", "aliases"] and wb["parts"].max_row == 3 and wb["aliases"].max_row == 3
    assert "price:fleet" in [c.value for c in wb["parts"][1]]
    header = [c.value for c in wb["parts"][1]]
    oil = next(r for r in wb["parts"].iter_rows(min_row=2) if r[0].value == "OIL-0W20")
    assert oil[header.index("sale_price")].data_type == "n" and oil[header.index("sale_price")].value == 88.5
    audit_before = AuditEvent.objects.count()
    result = importers.preview(world.group, data)
    assert (result.created, result.updated, result.unchanged, result.errors) == (0, 0, 2, [])
    result = importers.apply(actor=world.manager, group=world.group, data=data)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert AuditEvent.objects.count() == audit_before and Part.objects.count() == 2 and PartAlias.objects.count() == 2


def test_import_creates_then_changes_nothing_the_second_time(world, priced):
    data = _book([["BP-1", "刹车片", "Brake pads", "set", "120", 6, "110"], ["04152-YZZA1", "机油滤清器", "Oil filter", "piece", "70", 12, ""]],
                 aliases=[["BP-1", "D1234", "Brembo", "no"], ["04152-YZZA1", "W712/75", "MANN", "no"]])
    result = importers.apply(actor=world.admin, group=world.group, data=data)
    assert (result.created, result.updated, result.errors) == (1, 1, [])
    bp = Part.objects.get(number="BP-1")
    assert bp.unit == "set" and catalogue.price_for(bp, "fleet") == 110
    filt = Part.objects.get(number="04152-YZZA1")
    assert str(filt.sale_price) == "70.00"
    # the sheet lists only W712/75 for it: the Toyota number it does not mention stays (an import never deletes
    # what the file does not say to delete)
    assert sorted(filt.aliases.values_list("number", flat=True)) == ["90915-YZZE1", "W712/75"]
    assert not PriceListItem.objects.filter(part=filt).exists()  # an empty price cell removes the part from the list
    again = importers.apply(actor=world.admin, group=world.group, data=data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_bad_rows_are_reported_with_row_and_field_and_preview_writes_nothing(world, priced):
    data = _book([
        ["GOOD-1", "好零件", "", "piece", "10", "", ""],
        ["BAD-1", "坏", "", "bucket", "10", "", ""],  # row 3: unit
        ["BAD-2", "坏", "", "piece", "-5", "x", ""],  # row 4: price and warranty
        ["", "无号", "", "piece", "1", "", ""],  # row 5: number
        ["GOOD-1", "重复", "", "piece", "1", "", ""],  # row 6: duplicate in the file
        ["BAD-3", "", "", "piece", "1", "", "1.234"],  # row 7: name, fleet price
    ], aliases=[["NOPE-9", "X1", "", "no"]])
    before = (Part.objects.count(), AuditEvent.objects.count())
    result = importers.preview(world.group, data)
    found = {(e.sheet, e.row, e.field) for e in result.errors}
    assert {("parts", 3, "unit"), ("parts", 4, "sale_price"), ("parts", 4, "warranty_months"), ("parts", 5, "number"),
            ("parts", 6, "number"), ("parts", 7, "name_zh"), ("parts", 7, "price:fleet"), ("aliases", 2, "part_number")} <= found
    assert str(next(e for e in result.errors if e.row == 3)).startswith("parts row 3, unit:")
    assert (Part.objects.count(), AuditEvent.objects.count()) == before
    applied = importers.apply(actor=world.manager, group=world.group, data=data)
    assert applied.created == 1 and set(Part.objects.values_list("number", flat=True)) == {"04152-YZZA1", "OIL-0W20", "GOOD-1"}


def test_upload_checks():
    with pytest.raises(importers.ValidationFailed) as exc:
        importers.check_upload("parts.xlsx", 100, b"%PDF-1.4")
    assert exc.value.code == "file_type"
    with pytest.raises(importers.ValidationFailed) as exc:
        importers.check_upload("parts.csv", 100, b"PK\x03\x04")
    assert exc.value.code == "file_type"
    with pytest.raises(importers.ValidationFailed) as exc:
        importers.check_upload("parts.xlsx", importers.MAX_UPLOAD_BYTES + 1, b"PK\x03\x04")
    assert exc.value.code == "file_too_large"


def _upload(client, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/parts/import/", {"file": SimpleUploadedFile(name, content)})


def test_import_screen_preview_then_apply(client, world, priced, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                           "OPTIONS": {"location": str(tmp_path)}}}
    client.force_login(world.staff["parts_clerk"])
    response = _upload(client, "evil.xlsx", b"MZ\x90\x00 not a workbook")
    assert response.status_code == 200 and 'data-field="file"' in response.content.decode()
    response = _upload(client, "big.xlsx", b"PK\x03\x04" + b"0" * importers.MAX_UPLOAD_BYTES)
    assert "too large" in response.content.decode()
    response = _upload(client, "fake.xlsx", b"PK\x03\x04 broken zip")
    assert 'data-field="file"' in response.content.decode()
    data = _book([["NEW-1", "新零件", "", "piece", "10", "", ""], ["BAD", "坏", "", "bucket", "1", "", ""]])
    page = _upload(client, "parts.xlsx", data).content.decode()
    assert "parts row 3, unit:" in page and 'data-testid="import-apply"' in page
    assert not Part.objects.filter(number="NEW-1").exists()
    token = client.session["parts_import_file"]
    assert client.post("/parts/import/", {"apply": "1", "token": "imports/parts/other.xlsx"}).status_code == 302
    assert not Part.objects.filter(number="NEW-1").exists()
    response = client.post("/parts/import/", {"apply": "1", "token": token})
    assert response.status_code == 200 and Part.objects.filter(number="NEW-1").exists()
    response = client.get("/parts/export.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats") and response.content[:4] == b"PK\x03\x04"


def test_command(world, priced, tmp_path, capsys, monkeypatch):
    path = tmp_path / "parts.xlsx"
    path.write_bytes(_book([["CMD-1", "命令零件", "", "piece", "10", "", ""]]))
    username = world.staff["parts_clerk"].username
    call_command("import_parts", str(path), "--user", username)
    assert "1 new" in capsys.readouterr().out and not Part.objects.filter(number="CMD-1").exists()
    from aftersales import cli

    # ``aftersales import-parts`` is the management command import_parts (run_from_argv would close the test db)
    monkeypatch.setattr(cli, "_django", lambda argv: call_command(*argv))
    cli.main(["import-parts", str(path), "--apply", "--user", username])
    assert Part.objects.filter(number="CMD-1").exists()
    call_command("import_parts", str(path), "--apply", "--user", username)
    assert "0 new, 0 changed, 1 unchanged" in capsys.readouterr().out
    (tmp_path / "x.xlsx").write_bytes(b"not a zip")
    with pytest.raises(CommandError):
        call_command("import_parts", str(tmp_path / "x.xlsx"), "--user", username)


def test_aliases_sheet_adds_and_removes_only_what_it_says_and_the_preview_shows_each(world, priced):
    headers = ["part_number", "number", "brand", "is_oem", "remove"]
    before = AuditEvent.objects.count()
    # a part the parts sheet does not list: its numbers change all the same, removal only where marked
    data = _book([["OIL-0W20", "全合成机油 0W-20", "", "litre", "88.50", "", ""]],
                 aliases=[["04152-YZZA1", "FLT-OIL", "", "no", ""], ["04152-YZZA1", "W712/75", "MANN", "", "yes"],
                          ["04152-YZZA1", "90915-YZZE1", "Toyota", "no", ""]], alias_headers=headers)
    result = importers.preview(world.group, data)
    assert result.errors == [] and AuditEvent.objects.count() == before
    plan = next(p for p in result.plans if p.number == "04152-YZZA1")
    assert plan.action == "update" and set(plan.details) == {
        "adds interchange number FLT-OIL", "removes interchange number MANN W712/75", "marks Toyota 90915-YZZE1 as not OEM"}
    importers.apply(actor=world.manager, group=world.group, data=data)
    filt = Part.objects.get(number="04152-YZZA1")
    assert sorted(filt.aliases.values_list("number", "is_oem")) == [("90915-YZZE1", False), ("FLT-OIL", False)]
    # the next file lists only the parts sheet and one new alias of another part: FLT-OIL stays
    data = _book([["04152-YZZA1", "机油滤清器", "", "piece", "68", 12, "60"]],
                 aliases=[["OIL-0W20", "CASTROL-0W20", "Castrol", "no"]])
    result = importers.apply(actor=world.manager, group=world.group, data=data)
    assert result.errors == []
    assert sorted(filt.aliases.values_list("number", flat=True)) == ["90915-YZZE1", "FLT-OIL"]
    assert list(Part.objects.get(number="OIL-0W20").aliases.values_list("number", flat=True)) == ["CASTROL-0W20"]


def test_alias_errors_name_their_own_column_and_unknown_parts_are_reported(world, priced):
    headers = ["part_number", "number", "brand", "is_oem", "remove"]
    data = _book([], aliases=[
        ["NOPE-1", "X1", "", "no", ""],  # row 2: no such part, in the file or the catalogue
        ["04152-YZZA1", "W712/75", "MANN", "maybe", ""],  # row 3: is_oem
        ["04152-YZZA1", "", "MANN", "no", "perhaps"],  # row 4: number and remove, both named
        ["04152-YZZA1", "NOT-THERE", "", "no", "yes"],  # row 5: nothing to remove
    ], alias_headers=headers)
    result = importers.preview(world.group, data)
    found = {(e.sheet, e.row, e.field) for e in result.errors}
    assert found == {("aliases", 2, "part_number"), ("aliases", 3, "is_oem"), ("aliases", 4, "number"),
                     ("aliases", 4, "remove"), ("aliases", 5, "remove")}
    importers.apply(actor=world.manager, group=world.group, data=data)
    assert PartAlias.objects.count() == 2  # nothing changed


def test_a_part_name_that_looks_like_a_formula_is_exported_as_text(world, priced):
    Part.objects.filter(number="OIL-0W20").update(name_en='=HYPERLINK("http://evil.example","oil")')
    wb = load_workbook(io.BytesIO(importers.export_catalogue(world.group)))
    header = [c.value for c in wb["parts"][1]]
    oil = next(r for r in wb["parts"].iter_rows(min_row=2) if r[0].value == "OIL-0W20")
    assert oil[header.index("name_en")].data_type == "s"
    # and the file imports back unchanged
    result = importers.preview(world.group, importers.export_catalogue(world.group))
    assert (result.updated, result.errors) == (0, [])
