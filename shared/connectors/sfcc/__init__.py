"""Salesforce B2C Commerce (SFCC): SCAPI Orders for the release poll and write-backs, OCAPI Data for stock."""

from shared.connectors.sfcc.client import PolledOrder, SfccClient
from shared.connectors.sfcc.settings import SfccSettings

__all__ = ["PolledOrder", "SfccClient", "SfccSettings"]
