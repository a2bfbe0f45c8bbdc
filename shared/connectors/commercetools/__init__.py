"""commercetools connector: orders out, deliveries and returns back, inventory per supply channel."""

from shared.connectors.commercetools.client import RULES, CommercetoolsClient, StockDecision
from shared.connectors.commercetools.messages import MemoryLedger, Message, Verdict, parse_message, verdict
from shared.connectors.commercetools.settings import CommercetoolsCredentials, CommercetoolsSettings, ReleaseTrigger

__all__ = [
    "RULES",
    "CommercetoolsClient",
    "CommercetoolsCredentials",
    "CommercetoolsSettings",
    "MemoryLedger",
    "Message",
    "ReleaseTrigger",
    "StockDecision",
    "Verdict",
    "parse_message",
    "verdict",
]
