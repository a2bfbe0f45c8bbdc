"""The return message: one warehouse return to record on its order."""

from __future__ import annotations

from shared.models.base import Model
from shared.models.messages import Trigger
from shared.models.returns import ReturnNotice


class ReturnMessage(Model):
    """One warehouse return to record on the order it came from; idempotent per (client, warehouse, return id)."""

    client: str
    trigger: Trigger
    notice: ReturnNotice

    @property
    def business_key(self) -> str:
        return f"{self.notice.warehouse}#return#{self.notice.return_id}"
