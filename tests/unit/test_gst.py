from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from invoicing.domain.errors import DomainValidationError
from invoicing.domain.gst import (
    DEFAULT_SAC,
    GST_RATE,
    STATE_CODES,
    TaxBreakdown,
    compute_tax,
    gstin_check_character,
    gstin_state_code,
    line_amount,
    parse_decimal,
    place_of_supply,
    state_name,
    validate_gstin,
    validate_state_code,
)

VALID_GSTINS = ["27AAPFU0939F1ZV", "24AABCJ1087G1ZT"]


def _msg(exc_info: pytest.ExceptionInfo[DomainValidationError]) -> str:
    return exc_info.value.message


# --- state codes ---------------------------------------------------------------------------------


def test_state_codes_cover_01_to_38_and_other_territory():
    assert set(STATE_CODES) == {f"{n:02d}" for n in range(1, 39)} | {"97"}


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("01", "Jammu and Kashmir"),
        ("04", "Chandigarh"),
        ("07", "Delhi"),
        ("09", "Uttar Pradesh"),
        ("24", "Gujarat"),
        ("25", "Daman and Diu"),
        ("26", "Dadra and Nagar Haveli and Daman and Diu"),
        ("27", "Maharashtra"),
        ("28", "Andhra Pradesh (Before Division)"),
        ("29", "Karnataka"),
        ("32", "Kerala"),
        ("33", "Tamil Nadu"),
        ("36", "Telangana"),
        ("37", "Andhra Pradesh"),
        ("38", "Ladakh"),
        ("97", "Other Territory"),
    ],
)
def test_state_name_gives_the_official_name(code, name):
    assert state_name(code) == name


@pytest.mark.parametrize("code", ["00", "39", "96", "99", "7", "007", "", "KA", 29, None])
def test_unknown_state_code_is_rejected(code):
    with pytest.raises(DomainValidationError) as exc_info:
        state_name(code)
    assert exc_info.value.details[0]["loc"] == ["state_code"]


def test_validate_state_code_returns_the_code_and_names_the_field():
    assert validate_state_code("29") == "29"
    with pytest.raises(DomainValidationError) as exc_info:
        validate_state_code("40", field="customer.state_code")
    assert exc_info.value.details == [{"loc": ["customer.state_code"], "msg": _msg(exc_info)}]
    assert "customer.state_code" in _msg(exc_info)


# --- GSTIN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("gstin", VALID_GSTINS)
def test_valid_gstins_are_accepted(gstin):
    assert validate_gstin(gstin) == gstin


def test_gstin_is_normalised_by_stripping_and_upper_casing():
    assert validate_gstin("  27aapfu0939f1zv\n") == "27AAPFU0939F1ZV"


def test_gstin_with_a_wrong_check_character_names_the_expected_one():
    with pytest.raises(DomainValidationError) as exc_info:
        validate_gstin("27AAPFU0939F1ZO")
    assert "check character" in _msg(exc_info)
    assert "'V'" in _msg(exc_info)
    assert exc_info.value.details[0]["loc"] == ["gstin"]


@pytest.mark.parametrize(
    ("gstin", "fragment"),
    [
        ("27AAPFU0939F1Z", "exactly 15 characters"),
        ("27AAPFU0939F1ZVV", "exactly 15 characters"),
        ("", "exactly 15 characters"),
        ("99AAPFU0939F1ZV", "not a known GST state code"),
        ("XXAAPFU0939F1ZV", "not a known GST state code"),
        ("271APFU0939F1ZV", "PAN"),
        ("27AAPFUA939F1ZV", "PAN"),
        ("27AAPFU093911ZV", "PAN"),
        ("27AAPFU0939F0ZV", "entity number"),
        ("27AAPFU0939F-ZV", "entity number"),
        ("27AAPFU0939F1YV", "character 14 must be 'Z'"),
    ],
)
def test_each_malformed_gstin_kind_gets_its_own_message(gstin, fragment):
    with pytest.raises(DomainValidationError) as exc_info:
        validate_gstin(gstin)
    assert fragment in _msg(exc_info)


def test_gstin_that_is_not_a_string_is_rejected():
    with pytest.raises(DomainValidationError):
        validate_gstin(None)


def test_gstin_error_names_the_given_field():
    with pytest.raises(DomainValidationError) as exc_info:
        validate_gstin("27AAPFU0939F1ZO", field="customer.gstin")
    assert exc_info.value.details[0]["loc"] == ["customer.gstin"]


def test_check_character_follows_the_gstn_mod_36_algorithm():
    assert gstin_check_character("27AAPFU0939F1Z") == "V"
    assert gstin_check_character("24AABCJ1087G1Z") == "T"


@given(
    state=st.sampled_from(sorted(STATE_CODES)),
    pan=st.from_regex(r"\A[A-Z]{5}[0-9]{4}[A-Z]\Z"),
    entity=st.sampled_from("123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
)
def test_a_well_formed_gstin_with_its_computed_check_character_is_valid(state, pan, entity):
    body = f"{state}{pan}{entity}Z"
    gstin = body + gstin_check_character(body)
    assert validate_gstin(gstin) == gstin


@given(
    pan=st.from_regex(r"\A[A-Z]{5}[0-9]{4}[A-Z]\Z"),
    wrong=st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
)
def test_any_other_check_character_is_rejected(pan, wrong):
    body = f"29{pan}1Z"
    if wrong == gstin_check_character(body):
        return
    with pytest.raises(DomainValidationError, match="check character"):
        validate_gstin(body + wrong)


def test_gstin_state_code_is_its_first_two_characters():
    assert gstin_state_code("24AABCJ1087G1ZT") == "24"


# --- place of supply -----------------------------------------------------------------------------


def test_place_of_supply_comes_from_the_customer_gstin_when_present():
    assert place_of_supply("27AAPFU0939F1ZV", "29") == "27"


def test_place_of_supply_falls_back_to_the_customer_state_code():
    assert place_of_supply(None, "29") == "29"


def test_place_of_supply_rejects_an_unknown_customer_state_code():
    with pytest.raises(DomainValidationError) as exc_info:
        place_of_supply(None, "42")
    assert exc_info.value.details[0]["loc"] == ["customer.state_code"]


def test_place_of_supply_rejects_an_invalid_customer_gstin():
    with pytest.raises(DomainValidationError) as exc_info:
        place_of_supply("27AAPFU0939F1ZO", "27")
    assert exc_info.value.details[0]["loc"] == ["customer.gstin"]


# --- tax -----------------------------------------------------------------------------------------


def test_constants():
    assert Decimal("18") == GST_RATE
    assert DEFAULT_SAC == "998315"


def test_intra_state_supply_splits_into_equal_cgst_and_sgst():
    tax = compute_tax(12345, "29", "29")
    assert tax == TaxBreakdown(rate="18", cgst=1111, sgst=1111, igst=0)  # 1111.05 → 1111
    assert tax.total == 2222


def test_inter_state_supply_is_igst_only():
    tax = compute_tax(12345, "29", "27")
    assert tax == TaxBreakdown(rate="18", cgst=0, sgst=0, igst=2222)  # 2222.1 → 2222
    assert tax.total == 2222


def test_tax_rounds_half_up_at_exactly_half_a_paisa():
    # 50 × 9 % = 4.5 → 5 each; 25 × 18 % = 4.5 → 5
    assert compute_tax(50, "07", "07") == TaxBreakdown(cgst=5, sgst=5, igst=0)
    assert compute_tax(25, "07", "09") == TaxBreakdown(cgst=0, sgst=0, igst=5)


def test_tax_just_below_half_rounds_down():
    # 5 × 9 % = 0.45 → 0; 2 × 18 % = 0.36 → 0
    assert compute_tax(5, "07", "07").total == 0
    assert compute_tax(2, "07", "09").total == 0


def test_tax_on_zero_is_zero():
    assert compute_tax(0, "29", "29").total == 0


def test_negative_taxable_amount_is_rejected():
    with pytest.raises(DomainValidationError, match="negative"):
        compute_tax(-1, "29", "29")


@pytest.mark.parametrize("taxable", [1.5, "100", True, Decimal("100")])
def test_taxable_amount_must_be_int_paise(taxable):
    with pytest.raises(DomainValidationError):
        compute_tax(taxable, "29", "29")


def test_compute_tax_rejects_unknown_states():
    with pytest.raises(DomainValidationError):
        compute_tax(100, "00", "29")
    with pytest.raises(DomainValidationError):
        compute_tax(100, "29", "40")


@given(taxable=st.integers(min_value=0, max_value=10**15))
def test_tax_components_are_the_half_up_rounded_rates(taxable):
    intra = compute_tax(taxable, "29", "29")
    inter = compute_tax(taxable, "29", "33")
    assert intra.cgst == intra.sgst == (taxable * 9 * 2 + 100) // 200
    assert inter.igst == (taxable * 18 * 2 + 100) // 200
    assert intra.igst == inter.cgst == inter.sgst == 0


def test_tax_breakdown_is_frozen_and_rejects_mixed_regimes():
    tax = compute_tax(100, "29", "29")
    with pytest.raises(ValidationError):
        tax.cgst = 1
    with pytest.raises(ValidationError):
        TaxBreakdown(cgst=1, sgst=2, igst=0)
    with pytest.raises(ValidationError):
        TaxBreakdown(cgst=1, sgst=1, igst=2)
    with pytest.raises(ValidationError):
        TaxBreakdown(cgst=-1, sgst=-1, igst=0)


# --- line amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit_rate", "paise"),
    [
        ("0.5", "720", 36000),
        ("3", "0.013900", 4),  # 4.17 paise
        ("1", "0.000005", 0),  # 0.05 paise
        ("1", "0.005", 1),  # exactly half a paisa rounds up
        ("1", "0.004999", 0),
        ("744", "45.50", 3385200),
        ("0", "720", 0),
    ],
)
def test_line_amount_is_quantity_times_rate_in_paise_rounded_half_up(quantity, unit_rate, paise):
    assert line_amount(Decimal(quantity), Decimal(unit_rate)) == paise


def test_line_amount_does_not_round_before_the_final_step():
    # 31 significant digits: a default 28-digit context would drop the trailing half paisa
    quantity = Decimal(10**30 + 1)
    assert line_amount(quantity, Decimal("0.005")) == 5 * 10**29 + 1


def test_line_amount_rejects_non_decimals():
    with pytest.raises(DomainValidationError):
        line_amount(0.5, Decimal("720"))
    with pytest.raises(DomainValidationError):
        line_amount(Decimal("NaN"), Decimal("720"))


# --- parse_decimal -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["720", "0.5", "45.50", "0.013900"])
def test_parse_decimal_accepts_the_documented_forms(text):
    assert parse_decimal(text, field="unit_rate", max_places=6, positive=True) == Decimal(text)


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "1E-3",
        "NaN",
        "nan",
        "Infinity",
        "inf",
        "",
        " 1",
        "1 ",
        "1,000",
        ".5",
        "5.",
        "1.2.3",
        "١٢",
        "0x1",
    ],
)
def test_parse_decimal_rejects_anything_but_plain_digits(text):
    with pytest.raises(DomainValidationError) as exc_info:
        parse_decimal(text, field="quantity", max_places=6, positive=False)
    assert "quantity" in _msg(exc_info)
    assert exc_info.value.details[0]["loc"] == ["quantity"]


@pytest.mark.parametrize("text", ["-1", "+1", "-0.5"])
def test_parse_decimal_rejects_a_sign_when_positive_is_required(text):
    with pytest.raises(DomainValidationError, match="without a sign"):
        parse_decimal(text, field="quantity", max_places=6, positive=True)


@pytest.mark.parametrize("text", ["0", "0.000", "00"])
def test_parse_decimal_rejects_zero_when_positive_is_required(text):
    with pytest.raises(DomainValidationError, match="greater than zero"):
        parse_decimal(text, field="quantity", max_places=6, positive=True)


def test_parse_decimal_allows_sign_and_zero_when_positive_is_not_required():
    assert parse_decimal("-1.25", field="adjustment", max_places=2, positive=False) == Decimal("-1.25")
    assert parse_decimal("0", field="adjustment", max_places=2, positive=False) == 0


def test_parse_decimal_limits_decimal_places():
    assert parse_decimal("0.013900", field="unit_rate", max_places=6, positive=True) == Decimal("0.0139")
    with pytest.raises(DomainValidationError, match="7 decimal places; at most 6"):
        parse_decimal("0.0139001", field="unit_rate", max_places=6, positive=True)
    with pytest.raises(DomainValidationError, match="at most 0"):
        parse_decimal("1.0", field="count", max_places=0, positive=True)


@pytest.mark.parametrize("value", [1, 0.5, Decimal("1"), None])
def test_parse_decimal_requires_a_string(value):
    with pytest.raises(DomainValidationError, match="decimal string"):
        parse_decimal(value, field="quantity", max_places=6, positive=True)


@given(st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**9), places=6))
def test_parse_decimal_round_trips_plain_strings(value):
    text = f"{value:f}"
    assert parse_decimal(text, field="unit_rate", max_places=6, positive=True) == value
