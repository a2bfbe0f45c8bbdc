"""The cancellation messages: a cancel request and the document its state machine carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.models.base import Model
from shared.models.warehouse import WarehouseStatusRead

CancelTrigger = Literal["webhook", "subscription", "poll", "replay", "operator"]


class CancelRequest(Model):
    """Someone asked for an order to be cancelled. Any source may send one (Cin7 Core voids today, a
    storefront's cancel later): the cancellation state machine needs nothing more."""

    client: str
    source: str = Field(min_length=1, description="platform the order came from, e.g. cin7_core")
    source_id: str = Field(min_length=1)
    order_number: str = ""
    requested_at: datetime
    reason: str = ""
    trigger: CancelTrigger
    event_type: str = ""

    @property
    def order_key(self) -> str:
        return f"{self.source}#{self.source_id}"


class CancelLookup(Model):
    """LookUpOrder's result: where the ledger says the order is (after the cancel was written there)."""

    route: str  # a flows.cancellation.Place value other than the in-flight ones
    known: bool = Field(description="the order had reached us before the cancel")
    stage: str = ""
    warehouse_order_id: str | None = None
    client_reference: str | None = None


class WarehouseCheck(Model):
    """ReadWarehouseStatus's result: the status decided on (the warehouse's code, name and neutral status)."""

    status: str  # neutral
    code: str = ""  # the warehouse's own status code: what the cancel table is keyed by
    name: str = ""
    live_code: str = ""  # the code the warehouse showed, when a recorded parcel overrode it
    read_at: datetime

    def read(self) -> WarehouseStatusRead:
        return WarehouseStatusRead(status=self.status, code=self.code, name=self.name)


class WarehouseCancel(Model):
    accepted: bool
    message: str = ""


class CancelRecord(Model):
    outcome: str  # a flows.cancellation.Outcome value
    reason: str = ""
    exception_id: str | None = None
    decided_at: datetime


class CancelState(Model):
    """The document a cancellation execution carries from state to state (each task adds its part)."""

    request: CancelRequest
    lookup: CancelLookup | None = None
    warehouse: WarehouseCheck | None = None
    cancel: WarehouseCancel | None = None
    record: CancelRecord | None = None
    notify: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
