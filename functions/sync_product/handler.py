"""Consumes products from product-sync; creates or updates each at the warehouse and releases held orders."""

from functions.kit import queue_hop
from shared.models.messages import ProductMessage
from shared.steps.catalogue import FLOW
from shared.steps.product_sync import sync_product

lambda_handler = queue_hop(ProductMessage, flow=FLOW, step=sync_product, metric="ProductSync")
