"""The parts a platform can play in a pipeline: what config, topology and runtime name a platform by.

Apart from the connector spec so a hop's runtime resolves its platforms by role without loading the spec's
declarations (channels, contexts, protocols).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A part a platform plays in a pipeline; a connector lists the roles its client implements (its ports)."""

    ORDER_SOURCE = "order_source"  # orders are captured here and read when ready
    ORDER_TARGET = "order_target"  # orders are created here exactly once (a warehouse, an ERP)
    SHIPMENT_SOURCE = "shipment_source"  # reports what shipped
    SHIPMENT_TARGET = "shipment_target"  # takes tracking back so the order closes
    CATALOGUE_SOURCE = "catalogue_source"  # products are mastered here
    CATALOGUE_TARGET = "catalogue_target"  # products must exist here before orders need them
    STOCK_MASTER = "stock_master"  # sellable stock is read here
    STOCK_TARGET = "stock_target"  # sellable figures are set here
    STOCK_READER = "stock_reader"  # the other side's own figures can be read (drift)
    CANCEL_SOURCE = "cancel_source"  # announces cancellations of its orders
    CANCEL_TARGET = "cancel_target"  # reads its live order status and cancels before its cut-off
    NOTE_TARGET = "note_target"  # takes a note on an order (a cancellation outcome)
    RETURN_SOURCE = "return_source"  # reports the returns it booked in
    RETURN_TARGET = "return_target"  # records a return on the order it came from
    CATALOGUE_AUDIT = "catalogue_audit"  # lists the SKUs it sells and those it holds stock for
    SKU_LISTING = "sku_listing"  # lists every SKU its catalogue holds (the daily SKU audit)
    ORDER_RECORDS = "order_records"  # its orders read back (states, deliveries) for reconciliation
