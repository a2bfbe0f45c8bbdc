"""Cin7 Core as a shipment source: what the warehouse team shipped in Cin7 on the sales Hopline created there.

When Cin7 Core is the order target (a storefront's orders become Cin7 sales), people fulfil those sales in
Cin7 (pick, pack, ship with tracking), and the storefront must hear of it. The poll uses the card's [V]
endpoints only:

- `GET saleList?UpdatedSince=` (paged, pages = ceil(Total / limit)), one listing for every sale changed
  since the cursor: a row whose `CombinedShippingStatus` names something shipped (`SHIPPED`, `PARTIALLY
  SHIPPED`) is read; the rest are left. One call at low volume, where a listing per status value costs one
  each, and no reliance on which values the filter takes.
- `GET sale?ID=` per listed sale: its `ExternalID` (our reference; a sale without one was not ours) and its
  `Fulfilments[]`, whose ship lines say what left, in which box, with which tracking number and carrier.

One Shipment per shipped ship line (`IsShipped`), keyed `<TaskID>/<box>[+<box>...]`: Cin7 keeps a task's
ship lines once written (a tracking change edits the line in place, `AddTrackingNumbers`), so the key is
stable across polls and the write-back applies it once. Its lines are the packed quantities of its boxes.
A sale re-listed by the overlap window with the same `Updated` costs no second read in the same process.

The card's `Sale/ShipmentAuthorised` webhook carries `SaleTaskID` and `OrderNumber` but no `SaleID`
[V], so it cannot name the sale to read without a search: the poll (`pipelines.shipments.poll_schedule`) is
the feed.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.connectors.cin7_core.mapping import (
    AUTHORISED,
    PARTLY_AUTHORISED,
    SOURCE,
    WireSaleFulfilments,
    _validate,
    format_cin7_datetime,
    parse_cin7_datetime,
)
from shared.connectors.cin7_core.order_target import REFUSED_SUFFIX, Cin7CoreConnector
from shared.errors import NotFoundError, PermanentError
from shared.models import ReasonCode
from shared.models.feed import Rejected
from shared.models.shipment import Shipment, ShipmentLine
from shared.redaction import module_logger

logger = module_logger(__name__)

SALE_MEMORY = 2000  # sales whose shipments this process remembers by (SaleID, Updated)
MAX_PARCEL_ID = 64  # the bounds' max_id_length default


def _ship_boxes(text: str, packed: set[str]) -> list[str]:
    """Boxes a ship line covers: the exact name when packed under it, else a comma-separated list."""
    text = text.strip()
    if not text:
        return []
    if text in packed:
        return [text]
    return [part.strip() for part in text.split(",") if part.strip()]


def parcel_key(task_id: str, boxes: list[str]) -> str:
    """`<TaskID>/<boxes>`: stable per ship line; long box lists are digested to keep the key bounded."""
    key = f"{task_id}/{'+'.join(boxes)}"
    if len(key) <= MAX_PARCEL_ID:
        return key
    return f"{task_id}/{hashlib.sha256('+'.join(boxes).encode()).hexdigest()[:24]}"


def has_shipped(row: dict[str, Any]) -> bool:
    """A saleList row whose CombinedShippingStatus (a row column, card [V]) names a shipment, whole or part."""
    status = str(row.get("CombinedShippingStatus") or "").strip().upper()
    return "SHIPPED" in status and not status.startswith("NOT")


def our_reference(sale: dict[str, Any]) -> str:
    """The sale's ExternalID when Hopline made the sale; "" for sales of other channels or abandoned headers."""
    reference = str(sale.get("ExternalID") or "").strip()
    return "" if reference.endswith(REFUSED_SUFFIX) else reference


def sale_shipments(sale: dict[str, Any], updated_at: datetime) -> list[Shipment]:
    """The shipped ship lines of a sale (GET sale?ID=) as Shipments, in task and line order.

    Raises PermanentError(PAYLOAD_INVALID) when the fulfilments do not fit the wire model.
    """
    sale_id = str(sale.get("ID") or "").strip().lower()
    label = f"Cin7 sale {sale_id} fulfilments"
    wire = _validate(WireSaleFulfilments, {"SaleID": sale_id, "Fulfilments": sale.get("Fulfilments")}, label)
    reference = our_reference(sale)
    shipments: list[Shipment] = []
    for task in sorted(wire.Fulfilments, key=lambda t: t.FulfillmentNumber):
        ship = task.Ship
        if ship is None or ship.Status.strip().upper() not in (AUTHORISED, PARTLY_AUTHORISED):
            continue
        packed: dict[str, dict[str, Decimal]] = {}
        for packed_line in task.Pack.Lines if task.Pack else []:
            contents = packed.setdefault(packed_line.Box.strip(), {})
            contents[packed_line.SKU] = contents.get(packed_line.SKU, Decimal(0)) + packed_line.Quantity
        assigned: set[str] = set()
        for line in ship.Lines:
            if not line.IsShipped:
                continue
            boxes = [box for box in _ship_boxes(line.Boxes or line.Box, set(packed)) if box not in assigned]
            if not boxes:
                continue
            assigned.update(boxes)
            units: dict[str, Decimal] = {}
            for box in boxes:
                for sku, quantity in packed.get(box, {}).items():
                    units[sku] = units.get(sku, Decimal(0)) + quantity
            tracking = line.TrackingNumber.strip()
            shipments.append(
                Shipment(
                    warehouse=SOURCE,
                    parcel_id=parcel_key(task.TaskID, boxes),
                    warehouse_order_id=sale_id,
                    client_reference=reference,
                    # ShipmentDate is often a bare date (midnight): never later than the sale's own update.
                    despatched_at=min(line.ShipmentDate or updated_at, updated_at),
                    carrier=line.Carrier.strip(),
                    tracking_numbers=(tracking,) if tracking else (),
                    tracking_url=line.TrackingURL.strip(),
                    lines=tuple(ShipmentLine(sku=sku, quantity=q) for sku, q in units.items() if q),
                    updated_at=updated_at,
                )
            )
    return shipments


class Cin7CoreShipmentSource(Cin7CoreConnector):
    """The Cin7 Core connector that also reports what shipped on the sales it created (ShipmentSource)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._shipped_sales: OrderedDict[tuple[str, str], list[Shipment]] = OrderedDict()

    def shipments_since(self, since: datetime) -> Iterator[Shipment | Rejected]:
        """Shipped lines of Hopline's sales whose shipping moved after `since`; unreadable sales as Rejected."""
        params: dict[str, Any] = {"UpdatedSince": format_cin7_datetime(since), "limit": self.page_limit}
        seen: set[str] = set()
        for row in self._pages("saleList", params, _sale_rows):
            sale_id = str(row.get("SaleID") or "").strip().lower()
            if not sale_id or sale_id in seen or not has_shipped(row):
                continue
            seen.add(sale_id)
            # A row that names an ExternalID (the simulator's do; the card lists no such column [I])
            # saves the read of a sale that is not ours.
            if "ExternalID" in row and not our_reference(row):
                continue
            yield from self._sale_shipments(sale_id, row)

    def _sale_shipments(self, sale_id: str, row: dict[str, Any]) -> Iterator[Shipment | Rejected]:
        updated = parse_cin7_datetime(row.get("Updated"))
        memo = (sale_id, str(row.get("Updated") or ""))
        known = self._shipped_sales.get(memo)
        if known is not None:
            yield from known
            return
        try:
            if updated is None:
                raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"Cin7 saleList row {sale_id}: no Updated")
            sale = self.get_sale(sale_id)
            if not our_reference(sale):
                return  # another channel's sale: not Hopline's to report
            shipments = sale_shipments(sale, updated)
        except NotFoundError:
            return  # listed, then gone: nothing to report
        except PermanentError as error:
            logger.warning("cin7: skipping shipped sale %s: %s", sale_id, error.detail)
            yield Rejected(row=row, detail=error.detail, key=sale_id)
            return
        self._shipped_sales[memo] = shipments
        while len(self._shipped_sales) > SALE_MEMORY:
            self._shipped_sales.popitem(last=False)
        yield from shipments


def _sale_rows(body: Any) -> tuple[int, list[dict[str, Any]]]:
    """A saleList page as (Total, raw rows); the rows are read field by field by the caller."""
    if not isinstance(body, dict) or not isinstance(body.get("SaleList", []), list):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "Cin7 saleList page: expected {Total, SaleList[]}")
    try:
        total = int(body.get("Total") or 0)
    except (TypeError, ValueError):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "Cin7 saleList page: Total is not a number") from None
    return total, [row for row in body.get("SaleList") or [] if isinstance(row, dict)]
