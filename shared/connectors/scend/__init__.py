"""Scend 3PL connector (shape inferred from Mintsoft, confirm with Scend)."""

from shared.connectors.scend.client import RULES, ScendClient
from shared.connectors.scend.mapping import STATUS_BY_ID, neutral_status, to_order_request
from shared.models import WarehouseStatus

__all__ = ["RULES", "STATUS_BY_ID", "ScendClient", "WarehouseStatus", "neutral_status", "to_order_request"]
