"""Expected failures of issuing invoices (raised by the repositories when a transaction's condition fails)."""

from __future__ import annotations

from domain.errors import Conflict


class InvoiceAlreadyIssued(Conflict):
    """The invoice id exists: the same billing run issued it before (a re-run or an overlapping run)."""


class AlreadyBilled(Conflict):
    """A charge or service item was consumed by another invoice first."""


class NumberAllocationConflict(Conflict):
    """Another writer took the next invoice number first; read the counter again and retry."""


class InvoiceChangedMeanwhile(Conflict):
    """The corrected invoice changed (another credit note, a payment) since it was read; read it again."""
