"""The invoice document as one compressed attribute (``doc``) of its item.

DynamoDB bills a write by the item's size rounded up to the next KB — doubled in a transaction,
and again for each index entry it changes — and an invoice is written five or more times in its
life. As plain attributes a 3-line invoice is ~2.2 KB (attribute names included, ~60 of them); as
its JSON (``None`` left out) deflated with a preset dictionary of our own field names and
defaults it is ~0.6 KB, so the whole item stays under 1 KB and every write of it costs a third.
Only what conditions, projections and index keys need stays a plain attribute beside it
(``records.invoice_to_item``).

The format is versioned by its first byte, and a version's dictionary never changes once items
are written with it (a new dictionary is a new version, and readers keep the old one). Fields the
model gains later are simply less compressed. ``None`` is left out on the way in and restored on
the way out, which is lossless only while every optional field defaults to ``None``: a unit test
walks the model to keep it so.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

FORMAT_V1 = 1
MAX_UNPACKED = 400 * 1024  # an item's limit: anything larger is not ours

# The dictionary of format 1: a skeleton of the JSON in the order pydantic writes it, with our own
# defaults (INR, IST offsets, the cloud services SAC, GST at 18 %). Deflate finds a phrase best
# near the dictionary's end, so the rarer shapes (credit notes, refunds, disputes, e-invoices)
# come first and the invoice's own fields and its line items last.
_DICTIONARY_V1 = (
    b'"credit_note_number":"CN/","lines":[],"reason":"","credit_note_id":"cn_","razorpay_refund_id":"rfnd_",'
    b'"failure_reason":"","settled_at":"","status":"processed","invoice_id":"inv_","expected_correction":'
    b'"","outcome":"","note":"","resolved_at":"","irn":"","ack_no":"","ack_date":"","signed_qr":"",'
    b'"error":{"code":"","message":"","kind":""},"cancelled_at":"","next_attempt_at":"",'
    b'"suspension_requested_at":"","expired_at":"","expire_by":"","notes":"","terms":"",'
    b'"paid_at":"","receipts":["rcpt_"],"method":"card","method":"netbanking","method":"upi",'
    b'{"origin":"billing_run","origin":"manual","invoice_number":"INV/","currency":"INR",'
    b'"date":"20","due_date":"20","billing_period":{"start":"20","end":"20"},"description":"",'
    b'"customer":{"name":"","email":"","gstin":"","state_code":"","address":{"line1":"","line2":"",'
    b'"city":"","state":"","postal_code":"","country":"IN"}},"supplier":{"name":"","gstin":"",'
    b'"state_code":"","address":{"line1":"","line2":"","city":"","state":"","postal_code":"",'
    b'"country":"IN"}},"place_of_supply":"","taxable_amount":,"tax":{"rate":"18","cgst":,"sgst":,'
    b'"igst":0},"amount":,"payments":[{"id":"pay_","amount":,"method":"upi","paid_at":"20",'
    b'"currency":"INR","receipts":[]}],"held_payments":[],"credit_notes":[],"refunds":[],'
    b'"partial_payment":false,"payment_terms_days":15,"payment_url":"https://rzp.io/i/",'
    b'"razorpay_invoice_id":"inv_","disputes":[],"reminder_days":[3,7],"grace_period_days":7,'
    b'"reminders_sent":[],"issued_at":"20","created_at":"20","updated_at":"20",'
    b'"e_invoice":{"status":"not_applicable","attempts":0,"unknown_outcome":false}}'
    b'"line_items":[{"resource_type":"","resource_name":"","description":"",'
    b'"usage_start":"T00:00:00+05:30","usage_end":"T00:00:00+05:30","quantity":"","unit":"hour",'
    b'"unit_rate":"","sac_code":"998315","amount":},{"resource_type":"'
)
_DICTIONARIES = {FORMAT_V1: _DICTIONARY_V1}


def pack(document: dict[str, Any]) -> bytes:
    """``document`` (JSON-ready, ``None`` already left out) in the current format."""
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_V1)
    return bytes([FORMAT_V1]) + packer.compress(raw) + packer.flush()


def unpack(blob: bytes) -> dict[str, Any]:
    """The document ``pack`` made, in whichever format version it was written."""
    if not blob or blob[0] not in _DICTIONARIES:
        raise ValueError(f"not a packed document (format {blob[:1]!r})")
    unpacker = zlib.decompressobj(-15, zdict=_DICTIONARIES[blob[0]])
    try:
        raw = unpacker.decompress(blob[1:], MAX_UNPACKED)
        document = json.loads(raw) if unpacker.eof and not unpacker.unconsumed_tail else None
    except (zlib.error, ValueError) as exc:
        raise ValueError(f"a packed document does not unpack: {exc}") from None
    if document is None:
        raise ValueError("a packed document is truncated or larger than an item can be")
    if not isinstance(document, dict):
        raise ValueError("a packed document is not an object")
    return document
