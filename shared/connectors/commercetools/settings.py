"""What one commercetools project connection needs: hosts, scopes, channels, the release trigger, and the secret shape.

A platform instance under a client file's `platforms:` (`type: commercetools`). Every value a person sets
is validated here, so a wrong key fails at load time with its name.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from shared.connectors.settings import PlatformSettings, SecretName

# Regions on the card (§1); hosts are https://{api|auth}.{region}.commercetools.com.
REGIONS = ("us-central1.gcp", "us-east-2.aws", "europe-west1.gcp", "eu-central-1.aws", "australia-southeast1.gcp")
MAX_PAGE_LIMIT = 500  # §1: limit <= 500
MAX_UPDATE_ACTIONS = 500  # §1: <= 500 update actions per request
_PROJECT_KEY = re.compile(r"^[a-z0-9_-]{2,36}$")
# §2: the IAM user commercetools sends to SQS as (IAM authentication mode).
SUBSCRIPTION_PRINCIPAL = "arn:aws:iam::362576667341:user/subscriptions"


class ReleaseTrigger(StrEnum):
    """What makes an order ready for the warehouse (§2 "safe trigger"); never OrderCreated."""

    PAYMENT_PAID = "payment_paid"  # OrderPaymentStateChanged -> Paid
    ORDER_CONFIRMED = "order_confirmed"  # OrderStateChanged -> Confirmed
    STATE_TRANSITION = "state_transition"  # OrderStateTransition into a custom workflow State


class ShipmentStates(BaseModel):
    """The order `shipmentState` written after a delivery: some lines still open, or all delivered (§3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    partial: str = "Partial"
    shipped: str = "Shipped"


class ReturnStates(BaseModel):
    """The return shipment state set from the warehouse's disposition of the returned units (§5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    back_in_stock: str = "BackInStock"
    unusable: str = "Unusable"


class CommercetoolsCredentials(BaseModel):
    """The secret's JSON shape: an API client's id and secret (client-credentials grant, §1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(min_length=1)
    client_secret: SecretStr


class CommercetoolsSettings(PlatformSettings):
    """One project: where to call, what to ask for, which channels stand for which warehouse locations."""

    type: Literal["commercetools"] = "commercetools"
    project_key: str = Field(description="the project key; first segment of every API path")
    region: str = Field("europe-west1.gcp", description="one of the card's regions; sets the default hosts")
    api_url: str = Field("", description="API host; default https://api.{region}.commercetools.com")
    auth_url: str = Field("", description="auth host; default https://auth.{region}.commercetools.com")
    scopes: tuple[str, ...] = Field((), description="OAuth scopes; default the ones the card lists for us (§1)")
    credentials_secret: SecretName = Field(description="secret holding JSON {client_id, client_secret}")
    supply_channels: dict[str, str] = Field(
        default_factory=dict, description="warehouse location -> supply Channel id that holds its inventory entries"
    )
    sync_channel_id: str = Field("", description="Channel id recorded with the warehouse order id (updateSyncInfo)")
    release_trigger: ReleaseTrigger = ReleaseTrigger.PAYMENT_PAID
    release_state_id: str = Field(
        "", description="with state_transition: the custom State's id (orders reference States by id, not key)"
    )
    shipment_states: ShipmentStates = ShipmentStates()
    return_states: ReturnStates = ReturnStates()
    subscription_key: str = Field(
        "hopline-orders", pattern=r"^[A-Za-z0-9_-]{2,256}$", description="key of the order Subscription hopline keeps"
    )
    subscription_delivery: Literal["sqs", "eventbridge"] = Field(
        "sqs", description="sqs: straight to our queue (IAM mode); eventbridge: the partner source, one rule on"
    )
    subscription_principal: str = Field(
        SUBSCRIPTION_PRINCIPAL,
        pattern=r"^arn:aws:iam::\d{12}:(user|role)/[\w+=,.@/-]+$",
        description="with sqs: the principal the queue policy lets send (card §2)",
    )
    event_source: str = Field(
        "",
        description="with eventbridge: the partner event source (its bus); default "
        "aws.partner/commercetools.com/<project_key>/<subscription_key> [I]",
    )
    calls_per_minute: int = Field(
        1200, ge=1, le=60000, description="our own budget: the card publishes no quota, only 'ramp and back off'"
    )
    page_limit: int = Field(MAX_PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT)
    max_conflict_retries: int = Field(5, ge=1, le=20, description="re-read and re-decide after 409 this many times")
    token_refresh_margin_seconds: int = Field(300, ge=0, le=3600, description="renew a token this long before expiry")
    locale: str = Field("en", description="which localized name to read for line names")
    # Orders have no notes field: outcomes for the commerce team (a cancel too late) go in a String custom
    # field of an order Type, created by the connector the first time it writes a note.
    notes_type_key: str = Field("hopline-order-notes", pattern=r"^[A-Za-z0-9_-]{2,256}$")
    notes_field: str = Field("hoplineNotes", pattern=r"^[A-Za-z0-9_-]{1,36}$")
    pending_order_days: int = Field(
        14, ge=1, le=90, description="how far back accepted orders not yet at the warehouse are netted off stock"
    )

    @field_validator("project_key")
    @classmethod
    def _project_key(cls, value: str) -> str:
        if not _PROJECT_KEY.match(value):
            raise ValueError("project_key: 2-36 lowercase letters, digits, '-' or '_'")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}")
        return value

    @model_validator(mode="after")
    def _defaults_and_trigger(self) -> CommercetoolsSettings:
        if not self.api_url:
            object.__setattr__(self, "api_url", f"https://api.{self.region}.commercetools.com")
        if not self.auth_url:
            object.__setattr__(self, "auth_url", f"https://auth.{self.region}.commercetools.com")
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))
        object.__setattr__(self, "auth_url", self.auth_url.rstrip("/"))
        if not self.scopes:
            pk = self.project_key
            object.__setattr__(
                self,
                "scopes",
                (
                    f"manage_orders:{pk}",
                    f"manage_products:{pk}",
                    f"view_payments:{pk}",
                    f"view_messages:{pk}",
                    f"manage_subscriptions:{pk}",
                ),
            )
        if self.subscription_delivery == "sqs" and self.event_source:
            raise ValueError("event_source is for subscription_delivery eventbridge; this one delivers to sqs")
        if self.subscription_delivery == "eventbridge" and not self.event_source:
            # [I] commercetools names the partner source after the project and the subscription key.
            object.__setattr__(
                self, "event_source", f"aws.partner/commercetools.com/{self.project_key}/{self.subscription_key}"
            )
        if self.release_trigger is ReleaseTrigger.STATE_TRANSITION and not self.release_state_id:
            raise ValueError("release_trigger state_transition needs release_state_id (the custom State's id)")
        if len(set(self.supply_channels.values())) != len(self.supply_channels):
            raise ValueError("supply_channels: two locations name the same channel")
        return self

    @property
    def sqs_sender(self) -> str | None:
        """The principal the SQS channel admits, when the client chose SQS delivery."""
        return self.subscription_principal if self.subscription_delivery == "sqs" else None

    @property
    def partner_event_source(self) -> str | None:
        """The partner event source the EventBridge channel forwards from, when the client chose it."""
        return self.event_source if self.subscription_delivery == "eventbridge" else None

    def channel_for(self, location: str) -> str | None:
        return self.supply_channels.get(location)

    def location_for(self, channel_id: str) -> str | None:
        return next((name for name, cid in self.supply_channels.items() if cid == channel_id), None)
