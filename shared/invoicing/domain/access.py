"""Who is calling, and what they may see: one rule for every route and document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from invoicing.domain.errors import DomainValidationError, ForbiddenError
from invoicing.domain.invoice import InvoiceStatus


class Visible(Protocol):
    """What deciding visibility needs: an invoice, or a projection of one."""

    @property
    def account_id(self) -> str: ...

    @property
    def status(self) -> InvoiceStatus: ...


@dataclass(frozen=True)
class Caller:
    """Who is calling, from the verified JWT claims."""

    account_id: str | None
    is_operator: bool = False
    can_write_usage: bool = False  # the metering service (scope usage:write)

    def can_see(self, invoice: Visible) -> bool:
        """Operators see every invoice; a customer only its own account's, and never a draft."""
        return self.is_operator or (
            invoice.account_id == self.account_id and invoice.status is not InvoiceStatus.DRAFT
        )

    def owns(self, account_id: str) -> bool:
        """Whether this caller may see ``account_id``'s objects (operators: every account)."""
        return self.is_operator or account_id == self.account_id

    def account_for_listing(self, requested: str | None) -> str:
        """Customers list their own account; operators must name one."""
        if self.is_operator:
            if not requested:
                raise DomainValidationError(
                    "account_id is required for operators.",
                    [{"loc": ["query", "account_id"], "msg": "Field required"}],
                )
            return requested
        if requested and requested != self.account_id:
            raise ForbiddenError("You can only see your own account's objects.")
        assert self.account_id is not None
        return self.account_id
