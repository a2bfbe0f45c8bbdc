"""Consumes sale references from order-intake; releases valid orders to order-submit or quarantines them."""

from functions.kit import queue_hop
from shared.models.messages import IntakeMessage
from shared.steps.order_intake import take_in

lambda_handler = queue_hop(IntakeMessage, flow="order_intake", step=take_in, metric="Intake")
