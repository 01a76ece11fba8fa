"""GST rules: state codes, GSTIN validation, place of supply, tax and line arithmetic.

Money is ``int`` paise. ``Decimal`` appears only inside the arithmetic, always with an explicit
``ROUND_HALF_UP`` and a local context wide enough that nothing rounds before the final step.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext

from pydantic import BaseModel, ConfigDict, Field, model_validator

from invoicing.domain.errors import DomainValidationError

GST_RATE = Decimal("18")
DEFAULT_SAC = "998315"
SAC_PATTERN = r"^99\d{4}$"  # services accounting codes: chapter 99, six digits

_HALF_RATE = GST_RATE / 2  # CGST and SGST are 9 % each
_MIN_PRECISION = 50

# GST state/UT codes as listed on the GST portal.
STATE_CODES: dict[str, str] = {
    "01": "Jammu and Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "25": "Daman and Diu",  # legacy: merged into 26 in 2020
    "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra",
    "28": "Andhra Pradesh (Before Division)",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman and Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
    "97": "Other Territory",
}

_GSTIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_GSTIN_LENGTH = 15
_PAN = re.compile(r"[A-Z]{5}[0-9]{4}[A-Z]")
_ENTITY = re.compile(r"[1-9A-Z]")
_DECIMAL = re.compile(r"(?P<sign>[+-]?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")


def _invalid(field: str, msg: str) -> DomainValidationError:
    return DomainValidationError(msg, [{"loc": [field], "msg": msg}])


# ---------------------------------------------------------------------------------------------
# State codes
# ---------------------------------------------------------------------------------------------


def validate_state_code(code: str, *, field: str = "state_code") -> str:
    """Return the two-digit GST state code, or raise if it is not one of ``STATE_CODES``."""
    if not isinstance(code, str):
        raise _invalid(field, f'{field} must be a two-digit GST state code string such as "29".')
    normalised = code.strip()
    if normalised not in STATE_CODES:
        raise _invalid(field, f'{field} \'{code}\' is not a known GST state code ("01"-"38" or "97").')
    return normalised


def state_name(code: str) -> str:
    """The official name of a GST state code, e.g. ``"29"`` → ``"Karnataka"``."""
    return STATE_CODES[validate_state_code(code)]


# ---------------------------------------------------------------------------------------------
# GSTIN
# ---------------------------------------------------------------------------------------------


def gstin_check_character(first14: str) -> str:
    """The GSTN Luhn mod-36 check character over the first 14 characters of a GSTIN."""
    total = 0
    for index, char in enumerate(first14[:14]):
        product = _GSTIN_ALPHABET.index(char) * (1 if index % 2 == 0 else 2)
        total += product // 36 + product % 36
    return _GSTIN_ALPHABET[(36 - total % 36) % 36]


def validate_gstin(value: str, *, field: str = "gstin") -> str:
    """Normalise (strip, upper-case) and validate a 15-character GSTIN; return the normalised form."""
    if not isinstance(value, str):
        raise _invalid(field, f"{field} must be a string of 15 characters.")
    gstin = value.strip().upper()
    if len(gstin) != _GSTIN_LENGTH:
        raise _invalid(field, f"{field} must be exactly 15 characters long, got {len(gstin)}.")
    if gstin[:2] not in STATE_CODES:
        raise _invalid(field, f"{field} starts with '{gstin[:2]}', which is not a known GST state code.")
    if not _PAN.fullmatch(gstin[2:12]):
        raise _invalid(
            field,
            f"{field} characters 3-12 must be a PAN (5 letters, 4 digits, 1 letter), got '{gstin[2:12]}'.",
        )
    if not _ENTITY.fullmatch(gstin[12]):
        raise _invalid(field, f"{field} character 13 (entity number) must be 1-9 or A-Z, got '{gstin[12]}'.")
    if gstin[13] != "Z":
        raise _invalid(field, f"{field} character 14 must be 'Z', got '{gstin[13]}'.")
    expected = gstin_check_character(gstin[:14])
    if gstin[14] != expected:
        raise _invalid(
            field,
            f"{field} check character is '{gstin[14]}' but should be '{expected}'; the GSTIN is mistyped.",
        )
    return gstin


def gstin_state_code(gstin: str) -> str:
    """The state code (first two characters) of a valid GSTIN."""
    return validate_gstin(gstin)[:2]


def place_of_supply(customer_gstin: str | None, customer_state_code: str) -> str:
    """The customer's GSTIN state code when it has a GSTIN, else its declared state code."""
    state_code = validate_state_code(customer_state_code, field="customer.state_code")
    if customer_gstin is None:
        return state_code
    return validate_gstin(customer_gstin, field="customer.gstin")[:2]


# ---------------------------------------------------------------------------------------------
# Tax
# ---------------------------------------------------------------------------------------------


class TaxBreakdown(BaseModel):
    """GST on a taxable amount: CGST + SGST (intra-state) or IGST (inter-state), in paise."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, defer_build=True)

    rate: str = "18"
    cgst: int = Field(ge=0)
    sgst: int = Field(ge=0)
    igst: int = Field(ge=0)

    @model_validator(mode="after")
    def _one_regime(self) -> TaxBreakdown:
        if self.cgst != self.sgst:
            raise ValueError("cgst and sgst must be equal")
        if self.igst and self.cgst:
            raise ValueError("a supply is either intra-state (cgst + sgst) or inter-state (igst), not both")
        return self

    @property
    def total(self) -> int:
        return self.cgst + self.sgst + self.igst


def _percent_of(paise: int, rate: Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = max(_MIN_PRECISION, len(str(paise)) + 10)
        return int((Decimal(paise) * rate / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def compute_tax(taxable_paise: int, supplier_state: str, place_of_supply: str) -> TaxBreakdown:
    """GST at 18 %: CGST 9 % + SGST 9 % when supplier and place of supply share a state, else IGST.

    Each component is rounded half-up to the paisa on its own, so CGST always equals SGST.
    """
    if isinstance(taxable_paise, bool) or not isinstance(taxable_paise, int):
        raise _invalid("taxable_amount", "taxable_amount must be an integer number of paise.")
    if taxable_paise < 0:
        raise _invalid("taxable_amount", f"taxable_amount must not be negative, got {taxable_paise}.")
    supplier = validate_state_code(supplier_state, field="supplier.state_code")
    destination = validate_state_code(place_of_supply, field="place_of_supply")
    if supplier == destination:
        half = _percent_of(taxable_paise, _HALF_RATE)
        return TaxBreakdown(rate=str(GST_RATE), cgst=half, sgst=half, igst=0)
    return TaxBreakdown(rate=str(GST_RATE), cgst=0, sgst=0, igst=_percent_of(taxable_paise, GST_RATE))


# ---------------------------------------------------------------------------------------------
# Quantities and rates
# ---------------------------------------------------------------------------------------------


def line_amount(quantity: Decimal, unit_rate: Decimal) -> int:
    """A line's amount in paise: quantity × unit_rate (rupees) × 100, rounded half-up to the paisa."""
    for name, value in (("quantity", quantity), ("unit_rate", unit_rate)):
        if not isinstance(value, Decimal) or not value.is_finite():
            raise _invalid(name, f"{name} must be a finite Decimal.")
    digits = len(quantity.as_tuple().digits) + len(unit_rate.as_tuple().digits)
    with localcontext() as ctx:
        # Wide enough that the product is exact; only the final quantize rounds.
        ctx.prec = max(_MIN_PRECISION, digits + 10)
        paise = quantity * unit_rate * 100
        return int(paise.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_decimal(value: str, *, field: str, max_places: int, positive: bool) -> Decimal:
    """Parse a plain decimal string (``"720"``, ``"0.5"``, ``"45.50"``, ``"0.013900"``).

    Digits with an optional ``.`` and at least one digit each side; no exponent, NaN, Infinity,
    whitespace or thousands separators. At most ``max_places`` digits after the point (trailing
    zeros count). With ``positive`` the value must be greater than zero and carry no sign; without
    it a leading ``-`` or ``+`` is allowed.
    """
    if not isinstance(value, str):
        raise _invalid(field, f'{field} must be a decimal string such as "45.50", not a number.')
    match = _DECIMAL.fullmatch(value)
    if match is None:
        raise _invalid(
            field,
            f'{field} must be a plain decimal string such as "45.50" '
            "(digits with an optional '.', no exponent, spaces or separators).",
        )
    if positive and match["sign"]:
        raise _invalid(field, f"{field} must be written without a sign.")
    places = len(match["frac"] or "")
    if places > max_places:
        raise _invalid(field, f"{field} has {places} decimal places; at most {max_places} are allowed.")
    parsed = Decimal(value)
    if positive and parsed <= 0:
        raise _invalid(field, f"{field} must be greater than zero.")
    return parsed
