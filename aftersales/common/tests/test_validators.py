"""Validators for VINs, plates, mobiles, e-mail and dates: property tests plus known real values."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.common.errors import ValidationFailed
from aftersales.common.validators import (
    PROVINCES,
    VIN_ALPHABET,
    is_new_energy_plate,
    mask_mobile,
    normalize_email,
    normalize_mobile,
    normalize_plate,
    normalize_vin,
    not_in_future,
    parse_date,
    vin_check_digit,
)

# ---- VIN ---------------------------------------------------------------------------------------------------
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # ISO 3779: every digit and letter except I, O and Q
CHECK_CHARS = "0123456789X"


def with_check_digit(body: str) -> str:
    vin = body[:8] + "0" + body[9:]
    return vin[:8] + vin_check_digit(vin) + vin[9:]


vin_bodies = st.text(alphabet=VIN_CHARS, min_size=17, max_size=17)


def test_vin_alphabet_is_iso_3779():
    assert set(VIN_ALPHABET) == set(VIN_CHARS)


@given(vin_bodies)
def test_vin_with_computed_check_digit_is_accepted(body):
    vin = with_check_digit(body)
    assert normalize_vin(vin) == vin


@given(vin_bodies, st.sampled_from(VIN_CHARS))
def test_vin_with_any_other_ninth_character_is_refused(body, other):
    vin = with_check_digit(body)
    if other == vin[8]:
        other = "X" if vin[8] != "X" else "0"
    wrong = vin[:8] + other + vin[9:]
    with pytest.raises(ValidationFailed) as exc:
        normalize_vin(wrong)
    assert exc.value.code == "vin_check_digit"
    assert exc.value.field == "vin"


@given(vin_bodies)
def test_vin_lowercase_spaces_and_dashes_are_normalised(body):
    vin = with_check_digit(body)
    messy = f"  {vin[:4].lower()} {vin[4:10]}-{vin[10:].lower()} "
    assert normalize_vin(messy) == vin


@pytest.mark.parametrize(
    "vin",
    [
        "1M8GDM9AXKP042788",  # the ISO 3779 / NHTSA textbook example (check digit X)
        "1HGCM82633A004352",  # Honda Accord
        "11111111111111111",
    ],
)
def test_known_real_vins_are_accepted(vin):
    assert normalize_vin(vin) == vin


def test_known_vin_lowercase_with_spaces():
    assert normalize_vin(" 1m8gdm9axkp042788 ") == "1M8GDM9AXKP042788"
    assert normalize_vin("1M8 GDM9A XKP 042788") == "1M8GDM9AXKP042788"


def test_known_vin_with_typo_is_refused_with_check_digit_error():
    with pytest.raises(ValidationFailed) as exc:
        normalize_vin("1M8GDM9AXKP042789")  # last digit mistyped
    assert exc.value.code == "vin_check_digit"
    assert exc.value.field == "vin"


@given(vin_bodies, st.integers(min_value=0, max_value=16), st.sampled_from("IOQ"))
def test_vin_with_i_o_or_q_is_refused(body, position, letter):
    vin = with_check_digit(body)
    bad = vin[:position] + letter + vin[position + 1 :]
    with pytest.raises(ValidationFailed) as exc:
        normalize_vin(bad)
    assert exc.value.code == "vin_forbidden_letter"
    assert exc.value.field == "vin"


@given(st.text(alphabet=VIN_CHARS, min_size=1, max_size=40).filter(lambda s: len(s) != 17))
def test_vin_of_wrong_length_is_refused(text):
    with pytest.raises(ValidationFailed) as exc:
        normalize_vin(text, field="vehicle_vin")
    assert exc.value.code == "vin_length"
    assert exc.value.field == "vehicle_vin"


@pytest.mark.parametrize("value", ["", "   ", None])
def test_vin_required(value):
    with pytest.raises(ValidationFailed) as exc:
        normalize_vin(value)
    assert exc.value.code == "vin_required"
    assert exc.value.field == "vin"


def test_vin_with_non_latin_characters_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        normalize_vin("1M8GDM9AXKP04278粤")
    assert exc.value.code == "vin_characters"
    assert exc.value.field == "vin"


# ---- Plates ------------------------------------------------------------------------------------------------
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
DIGITS = "0123456789"
ENERGY = "ABCDEFGHJK"
provinces = st.sampled_from(PROVINCES)
letters = st.sampled_from(PLATE_LETTERS)
letter_or_digit = st.sampled_from(PLATE_LETTERS + DIGITS)
digit = st.sampled_from(DIGITS)


@st.composite
def ordinary_plates(draw):
    return draw(provinces) + draw(letters) + "".join(draw(letter_or_digit) for _ in range(5))


@st.composite
def small_nev_plates(draw):
    return (
        draw(provinces) + draw(letters) + draw(st.sampled_from(ENERGY)) + draw(letter_or_digit)
        + "".join(draw(digit) for _ in range(4))
    )


@st.composite
def large_nev_plates(draw):
    return draw(provinces) + draw(letters) + "".join(draw(digit) for _ in range(5)) + draw(st.sampled_from(ENERGY))


@given(ordinary_plates())
def test_ordinary_plates_are_accepted(plate):
    assert normalize_plate(plate) == plate
    assert not is_new_energy_plate(plate)


@given(small_nev_plates())
def test_small_new_energy_plates_are_accepted(plate):
    assert len(plate) == 8
    assert normalize_plate(plate) == plate
    assert is_new_energy_plate(plate)


@given(large_nev_plates())
def test_large_new_energy_plates_are_accepted(plate):
    assert len(plate) == 8
    assert normalize_plate(plate) == plate
    assert is_new_energy_plate(plate)


@given(ordinary_plates())
def test_plates_are_normalised(plate):
    messy = f" {plate[:2]}·{plate[2:].lower()} "
    assert normalize_plate(messy) == plate


@pytest.mark.parametrize("plate", ["粤B12345", "京A8888挂", "沪AD12345", "粤B12345D", "川AF1234", "新A1234学"])
def test_known_plates(plate):
    assert normalize_plate(plate) == plate


def assert_plate_refused(value):
    with pytest.raises(ValidationFailed) as exc:
        normalize_plate(value)
    assert exc.value.code in {"plate_format", "plate_required"}
    assert exc.value.field == "plate"


@given(
    st.one_of(ordinary_plates(), small_nev_plates(), large_nev_plates()),
    st.characters(codec="utf-8").filter(lambda c: c not in PROVINCES and not c.isspace() and c not in "·.-•"),
)
def test_plate_with_wrong_province_char_is_refused(plate, first):
    assert_plate_refused(first + plate[1:])


@given(st.one_of(ordinary_plates(), small_nev_plates(), large_nev_plates()), st.sampled_from("IO"), st.data())
def test_plate_with_i_or_o_is_refused(plate, letter, data):
    position = data.draw(st.integers(min_value=1, max_value=len(plate) - 1))
    assert_plate_refused(plate[:position] + letter + plate[position + 1 :])


@given(ordinary_plates())
def test_too_short_plate_is_refused(plate):
    assert_plate_refused(plate[:6])


@given(st.one_of(small_nev_plates(), large_nev_plates()), st.sampled_from(PLATE_LETTERS + DIGITS))
def test_too_long_plate_is_refused(plate, extra):
    assert_plate_refused(plate + extra)


@pytest.mark.parametrize("value", ["", "  ", None])
def test_plate_required(value):
    with pytest.raises(ValidationFailed) as exc:
        normalize_plate(value, field="vehicle_plate")
    assert exc.value.code == "plate_required"
    assert exc.value.field == "vehicle_plate"


# ---- Mobiles -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("19912345678", "+8619912345678"),
    ],
)
def test_mainland_mobiles_become_e164(raw, e164):
    assert normalize_mobile(raw) == e164


@given(st.sampled_from(["138", "139", "150", "186", "177", "199"]), st.text(alphabet=DIGITS, min_size=8, max_size=8))
def test_generated_mainland_mobiles_become_e164(prefix, rest):
    assert normalize_mobile(prefix + rest) == f"+86{prefix}{rest}"


@pytest.mark.parametrize(("raw", "e164"), [("+44 7911 123456", "+447911123456"), ("+447400123456", "+447400123456")])
def test_foreign_numbers_in_e164(raw, e164):
    assert normalize_mobile(raw) == e164


@pytest.mark.parametrize("raw", ["010 6552 9988", "02168881234", "+86 21 6888 1234"])
def test_mainland_landline_is_refused(raw):
    with pytest.raises(ValidationFailed) as exc:
        normalize_mobile(raw)
    assert exc.value.code == "mobile_not_mobile"
    assert exc.value.field == "mobile"


@pytest.mark.parametrize("raw", ["hello", "12345", "1381234567", "138123456789", "+99 123", "23812345678"])
def test_garbage_mobile_is_refused(raw):
    with pytest.raises(ValidationFailed) as exc:
        normalize_mobile(raw, field="phone")
    assert exc.value.code in {"mobile_format", "mobile_invalid"}
    assert exc.value.field == "phone"


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_mobile_required(raw):
    with pytest.raises(ValidationFailed) as exc:
        normalize_mobile(raw)
    assert exc.value.code == "mobile_required"
    assert exc.value.field == "mobile"


def test_mask_mobile():
    assert mask_mobile("+8613812341234") == "138****1234"
    assert mask_mobile("") == ""
    masked = mask_mobile("+447911123456")
    assert masked.startswith("+44") and masked.endswith("3456") and "7911123" not in masked


@given(st.text(alphabet=DIGITS, min_size=8, max_size=8))
def test_mask_mobile_hides_the_middle(rest):
    masked = mask_mobile(f"+86138{rest}")
    assert masked == f"138****{rest[-4:]}"


# ---- E-mail and dates --------------------------------------------------------------------------------------
def test_email_is_normalised():
    assert normalize_email("  Zhang.San@Example.COM ") == "Zhang.San@example.com"
    assert normalize_email("") == ""
    assert normalize_email(None) == ""


@pytest.mark.parametrize("raw", ["not-an-email", "a@", "@b.cn", "a b@c.cn", "张三@"])
def test_invalid_email_is_refused(raw):
    with pytest.raises(ValidationFailed) as exc:
        normalize_email(raw)
    assert exc.value.code == "email_invalid"
    assert exc.value.field == "email"


def test_not_in_future():
    today = timezone.localdate()
    assert not_in_future(today, "birthday", "Birthday") == today
    assert not_in_future(None, "birthday", "Birthday") is None
    with pytest.raises(ValidationFailed) as exc:
        not_in_future(today + dt.timedelta(days=1), "birthday", "Birthday")
    assert exc.value.code == "date_in_future"
    assert exc.value.field == "birthday"


@settings(max_examples=50)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2999, 12, 31)))
def test_parse_date_round_trips_iso(day):
    assert parse_date(day.isoformat(), "d") == day
    assert parse_date(day, "d") == day


def test_parse_date_empty_and_invalid():
    assert parse_date("", "birthday") is None
    assert parse_date(None, "birthday") is None
    for bad in ("2024-13-01", "31/12/2020", "yesterday", "2023-02-29"):
        with pytest.raises(ValidationFailed) as exc:
            parse_date(bad, "birthday")
        assert exc.value.code == "date_format"
        assert exc.value.field == "birthday"


@pytest.mark.parametrize("raw", ["13800abc000", "1380013800O", "138-FLOWERS-1", "+86 138 0013 800a"])
def test_mobile_with_letters_is_refused(raw):
    """Issue 13, item 10: phonenumbers reads letters as keypad digits; a letter is a typo, never a number."""
    with pytest.raises(ValidationFailed) as exc:
        normalize_mobile(raw)
    assert exc.value.code == "mobile_format" and exc.value.field == "mobile"


@given(st.sampled_from(["138", "139", "150"]), st.text(alphabet=DIGITS, min_size=8, max_size=8),
       st.integers(min_value=0, max_value=11), st.characters(categories=["Lu", "Ll", "Lo"]))
def test_a_letter_anywhere_is_refused(prefix, rest, at, letter):
    raw = (prefix + rest)[:at] + letter + (prefix + rest)[at:]
    with pytest.raises(ValidationFailed):
        normalize_mobile(raw)


def test_full_width_digits_still_work():
    assert normalize_mobile("１３８１２３４５６７８") == "+8613812345678"
