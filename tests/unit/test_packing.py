"""The invoice as its stored item: the packed document (``repository.packing``) and the plain
attributes beside it (``records.invoice_to_item``) give back exactly the invoice, in every state."""

from __future__ import annotations

import hashlib
import typing
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from infra.demo import draft_fields
from invoicing.domain.errors import InvoicingError
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.repository import packing, records
from invoicing.repository.table import deserialize, serialize
from tests.unit.factories import NOW, customer, draft, issued, payment
from tests.unit.test_invoice_properties import ACTIONS, DRAFT_ACTIONS, act, build_lines, line_specs


def stored(invoice: Invoice) -> Invoice:
    """The invoice written as an item, through DynamoDB's typed form, and read back."""
    return records.item_to_invoice(deserialize(serialize(records.invoice_to_item(invoice))))


def size(item: dict[str, typing.Any]) -> int:
    """DynamoDB's size of a plain item of strings, numbers and bytes (names plus values)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        total += len(value) if isinstance(value, bytes) else len(str(value).encode())
    return total


def test_a_document_unpacks_to_itself_and_starts_with_its_format() -> None:
    document = {
        "line_items": [{"description": "NVIDIA A100 80GB pod", "amount": 17_676_000}],
        "notes": "₹ due",
    }
    blob = packing.pack(document)
    assert blob[0] == packing.FORMAT_V1
    assert packing.unpack(blob) == document


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x07abc", packing.pack({"a": 1})[:-3], b"\x01" + b"\x00" * 10],
    ids=["empty", "unknown format", "truncated", "garbage"],
)
def test_what_is_not_a_packed_document_is_refused(blob: bytes) -> None:
    with pytest.raises(ValueError):
        packing.unpack(blob)


def test_a_document_larger_than_an_item_can_be_is_refused() -> None:
    with pytest.raises(ValueError, match="larger than an item"):
        packing.unpack(packing.pack({"notes": "x" * (packing.MAX_UNPACKED + 1)}))


def test_the_dictionary_of_format_1_never_changes() -> None:
    # Items written with format 1 can only be read with this dictionary: a new one is a new format.
    digest = hashlib.sha256(packing._DICTIONARIES[packing.FORMAT_V1]).hexdigest()
    assert digest == FORMAT_V1_DICTIONARY_SHA256


def test_every_optional_field_defaults_to_none_so_leaving_none_out_is_lossless() -> None:
    seen: set[type[BaseModel]] = set()

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, field in model.model_fields.items():
            args = typing.get_args(field.annotation)
            if type(None) in args:
                assert field.default is None, f"{model.__name__}.{name}: None would read back as its default"
            for arg in args or (field.annotation,):
                for inner in typing.get_args(arg) or (arg,):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        walk(inner)

    walk(Invoice)
    assert len(seen) > 10  # the walk reached the nested models (lines, payments, refunds, ...)


def test_a_typical_invoice_item_is_under_1_kb_through_its_life() -> None:
    # A write costs the item's size rounded up per KB: a three-line invoice stays at one unit
    # from draft to overdue (as plain attributes it was 1.9 to 2.3 KB: three units).
    invoice = draft(**draft_fields(date(2026, 9, 1), lines=3))
    life = [invoice, invoice.attach_payment_link("inv_RzpExample0001", NOW)]
    life.append(issued(life[-1]))
    life.append(life[-1].apply_payment(payment(life[-1].amount // 2, "pay_Example0001"), NOW))
    assert life[-1].due_date is not None
    life.append(life[-1].mark_overdue(life[-1].due_date + timedelta(days=1), NOW))
    assert life[-1].status is InvoiceStatus.OVERDUE
    for step in life:
        assert stored(step) == step
        assert size(records.invoice_to_item(step)) < 1024, step.status


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    specs=st.lists(line_specs(lines=5), min_size=1, max_size=5).filter(lambda s: sum(p for *_, p in s) > 0),
    intra_state=st.booleans(),
    steps=st.integers(1, 20),
)
def test_every_invoice_any_actions_make_reads_back_as_it_was_written(data, specs, intra_state, steps) -> None:
    invoice = draft(customer=customer(intra_state=intra_state), line_items=build_lines(specs))
    assert stored(invoice) == invoice
    for step in range(1, steps + 1):
        pool = DRAFT_ACTIONS if invoice.status is InvoiceStatus.DRAFT else ACTIONS
        try:
            invoice = act(data.draw(st.sampled_from(pool), label="action"), invoice, data, step)
        except InvoicingError:
            continue
        assert stored(invoice) == invoice


FORMAT_V1_DICTIONARY_SHA256 = "34a59e030b6ce790f0718bdf40c37b04741d52dbe293882dd33fe103642a7183"
