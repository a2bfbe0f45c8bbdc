"""The base of every canonical model, apart from the order models, so a hop that carries no order loads none."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Strict base: unknown fields are a bug at our own boundaries, and models are values."""

    model_config = ConfigDict(extra="forbid", frozen=True)
