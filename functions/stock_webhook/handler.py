"""Receives a Cin7 Core stock-level webhook through the one webhook step: checks the shared secret, archives,
enqueues its SKUs for a fresh read, quarantines what it cannot read."""

from functions.kit import webhook_hop
from shared.connectors.spec import Role

lambda_handler = webhook_hop("/webhooks/cin7-core/stock", Role.STOCK_MASTER, "stock")
