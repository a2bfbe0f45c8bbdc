"""SFCC behind Hopline's ports: the order source (polled), the export-status claim, shipments back, and
cancellations announced.

- OrderSource: the release poll (`SfccClient.poll_orders`); an order is read whole by its number.
- ExportClaim: `exported` once the target holds the order (it leaves the release filter), `failed` when
  it is quarantined (card §3). The claim is a courtesy to SFCC, not our guard against duplicates: the
  ledger and the target's reference search are, so a failed write here never makes a second sale.
- ShipmentTarget: a parcel becomes tracking in the configured c_ attributes, `shipping-status`
  part_shipped or shipped, and `status completed` once every unit has shipped. SCAPI has no writable
  shipment lines (card §5), so the parcels written and the units shipped per SKU live in one c_
  attribute (JSON), written in the same PATCH as the tracking: a parcel already there is not counted twice.
- CancelSource: orders in status cancelled changed since the cursor (the same windowed listing).
- StockTarget: each figure is the allocation of the product's inventory record in the inventory list the
  stock pipeline maps the master's locations to, with `reset_date` = when the master's read began
  (card §6: allocation, never ATS; the reset_date strategy is [I], `inventory.reset_date`). OCAPI Data
  writes one record a call, so a batch is that many calls under the one SFCC budget. A record SFCC
  refuses (no such product, an invalid document) is a refused row; a refusal that every record would
  meet (the list unknown, the client not permitted to write records) is one `EndpointUnavailableError`,
  so the stock flow opens one exception and pauses writes until it is resolved.
- CatalogueTarget: Cin7 Core's products in the site's catalogue through the OCAPI Data product path the
  settings name (`products.endpoint` [I]), each canonical field as its configured attribute. Which side
  owns a field is the catalogue pipeline's `field_owners` (the pure `shared/flows/catalogue.py` decides);
  this port writes only the fields it is given and never an attribute it has no mapping for (descriptions,
  images, categories stay SFCC's). Controlled creation: a product is created offline (`online_flag` false)
  when Cin7 has it and SFCC does not; merchandising publishes it, and it sells only once the stock flow,
  which writes records only for SKUs Cin7 reports, gives it an allocation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.connectors.sfcc.client import SfccClient
from shared.connectors.sfcc.mapping import product_document, product_fields_held, tracking_patch
from shared.errors import AuthError, EndpointUnavailableError, NotFoundError, PermanentError, StepAsideError
from shared.models import ReasonCode
from shared.models.product import PRODUCT_FIELDS, PriceList, Product, WarehouseProduct
from shared.models.shipment import Shipment
from shared.models.stock import RejectedPush, StockPush
from shared.ports import OrderChange

RECORD_PATH = "s/-/dw/data/{version}/inventory_lists/{list}/product_inventory_records/{product}"


def shipped_record(raw_order: Mapping[str, Any], attribute: str) -> tuple[list[str], dict[str, Decimal]]:
    """(parcels written, units shipped per SKU) from the order's c_ attribute; empty when never written."""
    value = raw_order.get(attribute)
    if not value:
        return [], {}
    try:
        record = json.loads(value) if isinstance(value, str) else value
        parcels = [str(parcel) for parcel in record.get("parcels", [])]
        shipped = {str(sku): Decimal(str(quantity)) for sku, quantity in record.get("shipped", {}).items()}
    except (ValueError, AttributeError, ArithmeticError) as error:
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID, f"SFCC order attribute {attribute} is not Hopline's record: {error}"
        ) from None
    return parcels, shipped


def _record_text(parcels: list[str], shipped: Mapping[str, Decimal]) -> str:
    return json.dumps(
        {"parcels": parcels, "shipped": {sku: str(quantity) for sku, quantity in sorted(shipped.items())}},
        separators=(",", ":"),
    )


def ordered_units(raw_order: Mapping[str, Any]) -> dict[str, Decimal]:
    ordered: dict[str, Decimal] = {}
    for item in raw_order.get("productItems") or []:
        sku = str(item.get("productId") or "")
        ordered[sku] = ordered.get(sku, Decimal(0)) + Decimal(str(item.get("quantity") or 0))
    return ordered


class SfccConnector(SfccClient):
    """One SFCC site playing order source, export claim, shipment target, cancel source and stock target."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.push_batch_size: int = self.settings.inventory.push_batch_size

    # -- CatalogueTarget ------------------------------------------------------------------------------
    def _held(self, product_id: str, document: Mapping[str, Any]) -> WarehouseProduct:
        fields = product_fields_held(document, self.settings.products.attributes)
        return WarehouseProduct(item_id=str(document.get("id") or product_id), sku=product_id, fields=fields)

    def find_product(self, sku: str) -> WarehouseProduct | None:
        """The site's product with exactly this id (a Cin7 SKU is SFCC's product id), or None."""
        if not sku.strip():
            return None
        document = self.get_product(sku)
        return None if document is None else self._held(sku, document)

    def create_product(self, product: Product) -> WarehouseProduct:
        """Every mapped field once, offline unless configured otherwise; a product SFCC already holds is
        left as it is and returned (creation never overwrites what merchandising made)."""
        existing = self.find_product(product.sku)
        if existing is not None:
            return existing
        products = self.settings.products
        body = product_document(product, PRODUCT_FIELDS, products.attributes, products.localized)
        if products.create_offline:
            body["online_flag"] = False
        document = self.put_product(product.sku, body)
        return self._held(product.sku, document or body)

    def update_product(self, existing: WarehouseProduct, product: Product, fields: tuple[str, ...]) -> None:
        """One PATCH with only `fields` (what Cin7 owns and changed); nothing else is sent, so an attribute
        SFCC owns keeps its value. No mapped field, no call."""
        unknown = [field for field in fields if field not in PRODUCT_FIELDS]
        if unknown:
            raise ValueError(f"not product fields: {unknown}")
        products = self.settings.products
        body = product_document(product, fields, products.attributes, products.localized)
        if body:
            self.patch_product(existing.sku, body)

    # -- PriceTarget -----------------------------------------------------------------------------------
    def price_lists(self) -> list[PriceList]:
        """The configured price books: one per (Cin7 price tier, currency). Without `price_book_endpoint` there
        are none: prices are not written (the settings' documented meaning of leaving it unset)."""
        if self.settings.price_book_endpoint is None:
            return []
        return [
            PriceList(tier=book.tier, currency=book.currency, list_id=book.price_book_id)
            for book in self.settings.price_books
        ]

    def write_price(self, sku: str, price_list: PriceList, amount: Decimal) -> None:
        self.set_price(sku, price_list.tier, price_list.currency, amount)

    # -- StockTarget -----------------------------------------------------------------------------------
    @property
    def accepts_stock_writes(self) -> bool:
        return self.settings.accepts_stock_writes()

    def push_stock(self, pushes: list[StockPush]) -> list[RejectedPush]:
        """Each figure as its record's allocation; the refused rows back, the rest applied (card §6)."""
        if not self.accepts_stock_writes:
            raise PermanentError(
                ReasonCode.ENDPOINT_UNAVAILABLE,
                "SFCC inventory records are read-only with Omnichannel Inventory (`inventory.omnichannel_inventory`)",
            )
        by_snapshot = self.settings.inventory.reset_date == "snapshot"
        rejected: list[RejectedPush] = []
        for index, push in enumerate(pushes):
            reset = (push.snapshot_at or self.clock.now()) if by_snapshot else None
            path = RECORD_PATH.format(version=self.settings.ocapi_version, list=push.location, product=push.sku)
            try:
                self.write_allocation(push.location, push.sku, push.quantity, reset)
            except StepAsideError as aside:
                # Giving way before this record: the ones before it were written (less those refused).
                refused = {(r.sku, r.location) for r in rejected}
                aside.applied = tuple(p for p in pushes[:index] if (p.sku, p.location) not in refused)
                raise
            except AuthError as error:
                if error.status != 403:
                    raise
                raise EndpointUnavailableError(
                    target="SFCC",
                    method="PATCH",
                    path=path,
                    config_field="the API client's OCAPI Data permissions (product_inventory_records PATCH, PUT) "
                    "or platforms.<sfcc>.inventory.omnichannel_inventory",
                    status=error.status,
                ) from None
            except NotFoundError as error:  # no record, and PUT refused to create one: SFCC has no such product [I]
                rejected.append(
                    RejectedPush(sku=push.sku, location=push.location, message=f"SFCC has no product: {error.detail}")
                )
            except PermanentError as error:
                if error.reason == ReasonCode.ENDPOINT_UNAVAILABLE:
                    raise EndpointUnavailableError(
                        target="SFCC",
                        method="PATCH",
                        path=path,
                        config_field="pipelines.stock.locations (an SFCC inventory list id)",
                        status=error.status,
                    ) from None
                rejected.append(RejectedPush(sku=push.sku, location=push.location, message=error.detail))
        return rejected

    # -- ExportClaim -----------------------------------------------------------------------------------
    def mark_exported(self, source_id: str) -> None:
        self.set_export_status(source_id, "exported")

    def mark_failed(self, source_id: str) -> None:
        self.set_export_status(source_id, "failed")

    # -- CancelSource ----------------------------------------------------------------------------------
    def cancelled_since(self, since: datetime) -> Iterator[OrderChange]:
        """Orders cancelled at SFCC (status cancelled) modified at or after `since`, oldest first: whether
        they were exported or not (one never exported is then never posted)."""
        params = {
            **self._site(),
            "status": "cancelled",
            "sortBy": "last_modified_date",
            "sortOrder": "asc",
            "limit": self.settings.page_size,
        }
        for polled in self.poll_orders(since, params=params):
            yield OrderChange(
                source_id=polled.order_no,
                order_number=polled.order_no,
                status="cancelled",
                updated_at=polled.last_modified,
            )

    # -- ShipmentTarget --------------------------------------------------------------------------------
    def write_shipment(
        self,
        source_id: str,
        shipment: Shipment,
        *,
        location: str,
        progress: Mapping[str, str],
        remember: Callable[[str], None],
        known: Sequence[str] = (),
    ) -> None:
        """One parcel back, once: tracking and the shipped record in one PATCH, then the statuses.

        A retry reads the record first: a parcel it already holds is not counted again, and only the
        status writes (idempotent PUTs) are repeated. `location` and `known` (a warehouse's task tokens)
        are other targets' concern: SFCC's record is on the order, which is always read.
        """
        raw = self.get_order(source_id)
        attribute = self.settings.tracking.shipments
        parcels, shipped = shipped_record(raw, attribute)
        ordered = ordered_units(raw)
        if shipment.parcel_id not in parcels:
            if shipment.parcel_id not in progress:
                remember(shipment.parcel_id)
            for line in shipment.lines:
                if line.sku not in ordered:
                    raise PermanentError(
                        ReasonCode.SHIPMENT_SKU_NOT_ON_ORDER, f"SFCC order {source_id} has no item {line.sku}"
                    )
                shipped[line.sku] = shipped.get(line.sku, Decimal(0)) + line.quantity
            parcels.append(shipment.parcel_id)
            tracking = self.settings.tracking
            known = [number for number in str(raw.get(tracking.tracking_numbers) or "").split(",") if number]
            body = tracking_patch(
                (tracking.tracking_numbers, tracking.carrier),
                [*known, *shipment.tracking_numbers],
                shipment.carrier or shipment.service,
            )
            body[attribute] = _record_text(parcels, shipped)
            self.send("PATCH", self._order_url(source_id), params=self._site(), json=body)
        whole = all(shipped.get(sku, Decimal(0)) >= quantity for sku, quantity in ordered.items())
        self.set_shipping_status(source_id, "shipped" if whole else "part_shipped")
        if whole and raw.get("status") != "completed":
            self.complete_order(source_id)
