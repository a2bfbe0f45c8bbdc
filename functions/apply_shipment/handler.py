"""Consumes parcels from shipment-writeback and writes each back to its source order exactly once."""

from functions.kit import queue_hop
from shared.models.messages import ShipmentMessage
from shared.steps.despatch import FLOW, apply_shipment

lambda_handler = queue_hop(ShipmentMessage, flow=FLOW, step=apply_shipment, metric="Writeback")
