"""The daily SKU audit: the shop's SKUs against the warehouse's catalogue, as a dated report."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from shared.flows.catalogue import audit_skus as audit_sku_sets
from shared.runtime import Runtime

logger = Logger(child=True)


def audit_skus(rt: Runtime) -> dict[str, Any]:
    """Daily: the shop's SKUs against the warehouse's catalogue, both ways, and stock held at the shop for
    an item the warehouse lacks; a dated report, and the gap count for the skus-unmatched alarm."""
    now = rt.clock.now()
    shop = rt.catalogue_audit
    audit = audit_sku_sets(shop.catalogue_skus(), shop.stocked_skus(), rt.sku_listing.all_skus())
    key = rt.archive.put_report(
        kind="sku-audit", body={"day": now.date().isoformat(), **audit.model_dump(mode="json")}, now=now
    )
    logger.info("SKU audit", extra={"report": key, "gaps": audit.gaps})
    return {
        "gaps": audit.gaps,
        "missing_at_warehouse": len(audit.missing_at_warehouse),
        "missing_at_shop": len(audit.missing_at_shop),
        "stocked_before_item": len(audit.stocked_before_item),
        "report": key,
    }
