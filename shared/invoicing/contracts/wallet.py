"""Prepaid wallets (billing.md, "Prepaid") as HTTP models, with the explicit mapping from the domain.

A top-up's ``amount`` is the credit it adds (the advance's taxable value, ₹100 – ₹10,00,000);
``total`` = amount + GST is what its ``payment_url`` collects.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Literal

from pydantic import Field, field_validator

from invoicing.contracts.common import AccountId, Request, Response, StrictInt, Timestamp
from invoicing.contracts.invoices import TaxOut
from invoicing.domain.errors import DomainValidationError
from invoicing.domain.queries import IdempotencyClaim
from invoicing.domain.wallet import MAX_TOP_UP_PAISE, MIN_TOP_UP_PAISE, TopUp, check_amount


class CreateTopUpRequest(Request):
    account_id: AccountId
    amount: StrictInt = Field(
        description="The credit to add, in paise (the advance's taxable value): ₹100 – ₹10,00,000.",
        json_schema_extra={"minimum": MIN_TOP_UP_PAISE, "maximum": MAX_TOP_UP_PAISE},
    )

    @field_validator("amount")
    @classmethod
    def _bounds(cls, value: int) -> int:
        """The domain's rule, in its words (422 at ``body.amount``)."""
        try:
            return check_amount(value)
        except DomainValidationError as exc:
            raise ValueError(exc.details[0]["msg"]) from None

    def claim(self, key: str | None) -> IdempotencyClaim | None:
        """The key with a hash of the parsed body (the same key with another body is a 409)."""
        if not key:
            return None
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return IdempotencyClaim.of(key, body.encode())


class ReceiptRefOut(Response):
    id: str = Field(description='"rcv_…": GET /receipts/{id}/pdf')
    receipt_number: str = Field(description='"RV/2627/000001": its own gap-free series per financial year.')
    date: date
    payment_id: str
    method: str


class TopUpResponse(Response):
    """The TopUp object of billing.md."""

    id: str
    account_id: str
    amount: int = Field(description="The credit (taxable value of the advance), in paise.")
    tax: TaxOut = Field(description="GST on amount, at the billing profile's place of supply.")
    total: int = Field(description="amount + tax: what the customer pays.")
    currency: Literal["INR"]
    status: Literal["created", "paid", "expired"]
    payment_url: str | None = Field(description="Razorpay's hosted page (UPI, cards, net banking, wallets).")
    razorpay_payment_link_id: str | None = Field(description='The payment link that collects it ("plink_…").')
    expire_by: Timestamp = Field(description="When the payment link expires.")
    receipt: ReceiptRefOut | None = Field(description="The receipt voucher, once paid.")
    created_at: Timestamp
    paid_at: Timestamp | None

    @classmethod
    def from_domain(cls, top_up: TopUp) -> TopUpResponse:
        receipt = top_up.receipt
        return cls(
            id=top_up.id,
            account_id=top_up.account_id,
            amount=top_up.amount,
            tax=TaxOut(
                rate=top_up.tax.rate, cgst=top_up.tax.cgst, sgst=top_up.tax.sgst, igst=top_up.tax.igst
            ),
            total=top_up.total,
            currency=top_up.currency,
            status=top_up.status.value,
            payment_url=top_up.payment_url,
            razorpay_payment_link_id=top_up.razorpay_payment_link_id,
            expire_by=top_up.expire_by,
            receipt=(
                ReceiptRefOut(
                    id=receipt.id,
                    receipt_number=receipt.receipt_number,
                    date=receipt.date,
                    payment_id=receipt.payment_id,
                    method=receipt.method,
                )
                if receipt
                else None
            ),
            created_at=top_up.created_at,
            paid_at=top_up.paid_at,
        )


class TopUpListResponse(Response):
    items: list[TopUpResponse]
    next_cursor: str | None


class WalletBalanceResponse(Response):
    account_id: str
    advance_balance: int = Field(
        description="The taxable value of advances received and not yet adjusted (the wallet's credit)."
    )
    currency: Literal["INR"] = "INR"
