"""The order messages: a changed order to read (intake) and a validated order to send (submit)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.models.base import Model
from shared.models.messages import Trigger
from shared.models.order import Order


class IntakeMessage(Model):
    """A reference to a source order that something says has changed; intake reads the rest."""

    client: str
    source: str
    source_id: str = Field(min_length=1)
    order_number: str = ""
    trigger: Trigger
    event_type: str = ""
    archive_key: str | None = None
    source_updated_at: datetime | None = Field(
        None, description="the version a poll saw; intake skips a re-read when it decided on this version"
    )

    @property
    def order_key(self) -> str:
        return f"{self.source}#{self.source_id}"


class SubmitMessage(Model):
    """A validated order on its way to the warehouse; idempotency is keyed on (client, source, source_id)."""

    client: str
    source: str
    source_id: str
    client_reference: str
    courier_service: str
    order: Order

    @property
    def order_key(self) -> str:
        return f"{self.source}#{self.source_id}"
