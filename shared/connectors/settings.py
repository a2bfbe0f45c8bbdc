"""The base every platform's settings model extends, and the shapes its config fields share.

Each connector package owns its settings (`shared/connectors/<platform>/settings.py`); the client file
names instances of them under `platforms:`, told apart by `type`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Secrets Manager names: 1-512 of letters, digits and /_+=.@-
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
SecretName = Annotated[str, Field(min_length=1, max_length=512, pattern=SECRET_NAME.pattern)]


class PlatformSettings(BaseModel):
    """One platform instance: how it is reached (URLs, secret names, limits). Rules live in pipelines."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="the connector, as the registry names it (cin7_core, scend, ...)")
    credentials_secret: SecretName = Field(description="Secrets Manager name of the API credentials (JSON)")
    calls_per_minute: int = Field(60, ge=1, le=100_000, description="this account's budget, shared by every flow")

    def accepts_stock_writes(self) -> bool:
        """Whether this platform takes stock figures at all (a connector's settings may say it does not)."""
        return True
