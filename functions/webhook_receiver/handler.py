"""Receives a Cin7 Core sale webhook through the one webhook step: checks the shared secret, archives, enqueues
a sale reference (a voided sale as a cancel request), quarantines what it cannot read."""

from functions.kit import webhook_hop
from shared.connectors.spec import Role

lambda_handler = webhook_hop("/webhooks/cin7-core", Role.ORDER_SOURCE, "sales")
