"""Reason codes and owning teams: the stable vocabulary operators search and alarms group by."""

from __future__ import annotations

from enum import StrEnum


class Team(StrEnum):
    """Who is paged for, and expected to resolve, an exception."""

    OPERATIONS = "operations"
    FINANCE = "finance"
    ECOMMERCE = "ecommerce"


class ReasonCode(StrEnum):
    """Why a record did not travel. Values are stable: dashboards, runbook and alarms key on them."""

    # Order validation (order_intake)
    SKU_UNKNOWN = "sku_unknown"
    SKU_INVALID = "sku_invalid"
    SKU_PENDING = "sku_pending"  # held: a SKU is not yet at the warehouse; released when it is
    PRODUCT_INVALID = "product_invalid"
    ADDRESS_INCOMPLETE = "address_incomplete"
    POSTCODE_INVALID = "postcode_invalid"
    COUNTRY_UNSUPPORTED = "country_unsupported"
    DELIVERY_SERVICE_UNMAPPED = "delivery_service_unmapped"
    QUANTITY_INVALID = "quantity_invalid"
    NO_LINES = "no_lines"
    # Source or target refused or could not be read
    SOURCE_NOT_FOUND = "source_not_found"
    SOURCE_REJECTED = "source_rejected"
    WAREHOUSE_REJECTED = "warehouse_rejected"
    PAYLOAD_INVALID = "payload_invalid"
    # Bounds checked where input enters (webhooks, queue messages, source orders): config `bounds:`
    ID_MALFORMED = "id_malformed"  # an id of the wrong format or length (a Cin7 SaleID is a GUID)
    QUANTITY_OUT_OF_BOUNDS = "quantity_out_of_bounds"
    PRICE_OUT_OF_BOUNDS = "price_out_of_bounds"
    TOO_MANY_LINES = "too_many_lines"
    BODY_TOO_LARGE = "body_too_large"  # a webhook body over bounds.max_body_bytes
    SKU_BLANK = "sku_blank"
    MESSAGE_NOT_SERVED = "message_not_served"  # a queue message for another client or source platform
    MESSAGE_MISROUTED = "message_misrouted"  # a pushed platform message from another project or account
    # Despatch write-back (apply_shipment)
    SHIPMENT_ORDER_UNKNOWN = "shipment_order_unknown"
    SHIPMENT_OVER_QUANTITY = "shipment_over_quantity"
    SHIPMENT_SKU_NOT_ON_ORDER = "shipment_sku_not_on_order"
    WRITEBACK_REJECTED = "writeback_rejected"
    # Returns (apply_return)
    RETURN_ORDER_UNKNOWN = "return_order_unknown"
    # Cancellation (cancel state machine)
    CANCEL_TOO_LATE = "cancel_too_late"  # too late for the API: raise it with the 3PL, expect a return
    CANCEL_RETURN_STARTED = "cancel_return_started"  # it had left the warehouse: refused, a return is expected
    CANCEL_REJECTED = "cancel_rejected"  # the warehouse refused a cancel we were allowed to make
    CANCEL_FAILED = "cancel_failed"  # a cancellation execution failed part-way: see its recorded steps, redrive
    CANCEL_NOTE_FAILED = "cancel_note_failed"  # the outcome is recorded; only its note on the source order failed
    # Platform capabilities
    ENDPOINT_UNAVAILABLE = "endpoint_unavailable"  # an inferred endpoint the platform does not offer: check config
    # Stock sync
    STOCK_DRIFT = "stock_drift"  # master and target disagree by more than the configured threshold
    STOCK_PUSH_REJECTED = "stock_push_rejected"  # the target refused a stock figure (e.g. unknown SKU)
    # Prices
    PRICE_REJECTED = "price_rejected"  # the catalogue target refused a price for its price list
    # Monitors
    ORDER_STALLED = "order_stalled"  # an order stayed at one stage longer than its SLA
    ORDER_MISMATCH = "order_mismatch"  # source and warehouse disagree about an order's state


# One owner per reason: data problems in the product catalogue belong to ecommerce, address and
# carrier problems to operations (customer service fixes the address), platform refusals to operations.
OWNER: dict[ReasonCode, Team] = {
    ReasonCode.SKU_UNKNOWN: Team.ECOMMERCE,
    ReasonCode.SKU_INVALID: Team.ECOMMERCE,
    ReasonCode.SKU_PENDING: Team.ECOMMERCE,
    ReasonCode.PRODUCT_INVALID: Team.ECOMMERCE,
    ReasonCode.ADDRESS_INCOMPLETE: Team.OPERATIONS,
    ReasonCode.POSTCODE_INVALID: Team.OPERATIONS,
    ReasonCode.COUNTRY_UNSUPPORTED: Team.OPERATIONS,
    ReasonCode.DELIVERY_SERVICE_UNMAPPED: Team.OPERATIONS,
    ReasonCode.QUANTITY_INVALID: Team.ECOMMERCE,
    ReasonCode.NO_LINES: Team.ECOMMERCE,
    ReasonCode.SOURCE_NOT_FOUND: Team.OPERATIONS,
    ReasonCode.SOURCE_REJECTED: Team.OPERATIONS,
    ReasonCode.WAREHOUSE_REJECTED: Team.OPERATIONS,
    ReasonCode.PAYLOAD_INVALID: Team.OPERATIONS,
    ReasonCode.ID_MALFORMED: Team.OPERATIONS,
    ReasonCode.QUANTITY_OUT_OF_BOUNDS: Team.ECOMMERCE,
    ReasonCode.PRICE_OUT_OF_BOUNDS: Team.ECOMMERCE,
    ReasonCode.TOO_MANY_LINES: Team.ECOMMERCE,
    ReasonCode.BODY_TOO_LARGE: Team.OPERATIONS,
    ReasonCode.SKU_BLANK: Team.ECOMMERCE,
    ReasonCode.MESSAGE_NOT_SERVED: Team.OPERATIONS,
    ReasonCode.MESSAGE_MISROUTED: Team.OPERATIONS,
    ReasonCode.SHIPMENT_ORDER_UNKNOWN: Team.OPERATIONS,
    ReasonCode.SHIPMENT_OVER_QUANTITY: Team.OPERATIONS,
    ReasonCode.SHIPMENT_SKU_NOT_ON_ORDER: Team.OPERATIONS,
    ReasonCode.WRITEBACK_REJECTED: Team.OPERATIONS,
    ReasonCode.RETURN_ORDER_UNKNOWN: Team.OPERATIONS,
    ReasonCode.CANCEL_TOO_LATE: Team.OPERATIONS,
    ReasonCode.CANCEL_REJECTED: Team.OPERATIONS,
    ReasonCode.CANCEL_RETURN_STARTED: Team.OPERATIONS,
    ReasonCode.CANCEL_FAILED: Team.OPERATIONS,
    ReasonCode.CANCEL_NOTE_FAILED: Team.OPERATIONS,
    ReasonCode.ENDPOINT_UNAVAILABLE: Team.OPERATIONS,
    ReasonCode.STOCK_DRIFT: Team.OPERATIONS,
    ReasonCode.STOCK_PUSH_REJECTED: Team.ECOMMERCE,
    ReasonCode.PRICE_REJECTED: Team.ECOMMERCE,
    ReasonCode.ORDER_STALLED: Team.OPERATIONS,
    ReasonCode.ORDER_MISMATCH: Team.OPERATIONS,
}


def owner_of(reason: ReasonCode) -> Team:
    """The team that owns a reason; every reason has one (enforced by a unit test)."""
    return OWNER[reason]
