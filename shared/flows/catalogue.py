"""SKU fan-out decisions: may this product travel, and what must the warehouse's copy change?"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from shared.flows.problems import Problem
from shared.flows.skus import sku_format_problem
from shared.models import ReasonCode
from shared.models.base import Model
from shared.models.product import PRODUCT_FIELDS, Product, WarehouseProduct

_BARCODE = re.compile(r"^(\d{8}|\d{12}|\d{13}|\d{14})$")  # EAN-8, UPC-A, EAN-13, GTIN-14


class SyncAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REJECT = "reject"


class SyncDecision(Model):
    action: SyncAction
    fields: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


def product_problems(product: Product) -> list[Problem]:
    """Why a product may not be sent to the warehouse; checked before any call."""
    problems: list[Problem] = []
    bad_sku = sku_format_problem(product.sku)
    if bad_sku:
        problems.append(Problem(reason=ReasonCode.SKU_INVALID, detail=bad_sku))
    if not product.name.strip():
        problems.append(Problem(reason=ReasonCode.PRODUCT_INVALID, detail=f"SKU {product.sku!r} has no name"))
    if product.barcode and not _BARCODE.match(product.barcode):
        problems.append(
            Problem(
                reason=ReasonCode.PRODUCT_INVALID,
                detail=f"SKU {product.sku!r}: barcode {product.barcode!r} is not an EAN/UPC/GTIN",
            )
        )
    return problems


_NUMERIC_FIELDS = frozenset({"weight_kg", "length_cm", "width_cm", "height_cm"})


def _differs(product: Product, field: str, held: str) -> bool:
    """Does the source value differ from what the warehouse holds? Numbers compare as numbers ("30.0" == 30)."""
    value = getattr(product, field)
    if field in _NUMERIC_FIELDS:
        try:
            held_number = Decimal(held) if held.strip() else None
        except InvalidOperation:
            return True
        return bool(value != held_number)
    return bool((value or "") != held)


def decide_sync(
    product: Product,
    existing: WarehouseProduct | None,
    owners: Mapping[str, str],
) -> SyncDecision:
    """Create when missing; otherwise update only source-owned fields that differ; reject bad data."""
    problems = product_problems(product)
    if problems:
        return SyncDecision(action=SyncAction.REJECT, problems=tuple(problems))
    if existing is None:
        if not product.active:
            return SyncDecision(action=SyncAction.UNCHANGED)  # a deprecated product is never created
        return SyncDecision(action=SyncAction.CREATE, fields=PRODUCT_FIELDS)
    changed = tuple(
        field
        for field in PRODUCT_FIELDS
        if owners.get(field, "source") == "source" and _differs(product, field, existing.fields.get(field, ""))
    )
    return SyncDecision(action=SyncAction.UPDATE if changed else SyncAction.UNCHANGED, fields=changed)


def already_synced(product: Product, synced_version: datetime | None) -> bool:
    """The SKU map holds this version or a newer one: no warehouse call needed."""
    return synced_version is not None and synced_version >= product.updated_at


class SkuAudit(Model):
    """The daily SKU audit both ways: what the shop sells that the warehouse lacks (an order for it sticks),
    what the warehouse holds that the shop lacks, and SKUs the shop holds stock for before the warehouse
    has the item (sellable before anything can ship: the gate was bypassed)."""

    missing_at_warehouse: tuple[str, ...]
    missing_at_shop: tuple[str, ...]
    stocked_before_item: tuple[str, ...]

    @property
    def gaps(self) -> int:
        return len(self.missing_at_warehouse) + len(self.missing_at_shop) + len(self.stocked_before_item)


def audit_skus(shop: Iterable[str], stocked: Iterable[str], warehouse: Iterable[str]) -> SkuAudit:
    """Exact comparison (SKUs travel as spelled: 'tee-1' and 'TEE-1' are two SKUs)."""
    shop_skus, warehouse_skus = set(shop), set(warehouse)
    return SkuAudit(
        missing_at_warehouse=tuple(sorted(shop_skus - warehouse_skus)),
        missing_at_shop=tuple(sorted(warehouse_skus - shop_skus)),
        stocked_before_item=tuple(sorted(set(stocked) - warehouse_skus)),
    )
