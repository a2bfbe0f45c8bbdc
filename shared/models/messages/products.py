"""The product message: one product to fan out to the warehouse."""

from __future__ import annotations

from shared.models.base import Model
from shared.models.messages import Trigger
from shared.models.product import Product


class ProductMessage(Model):
    """A product to fan out to the warehouse; idempotent per (client, SKU, version)."""

    client: str
    trigger: Trigger
    product: Product
