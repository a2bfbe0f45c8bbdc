"""What a running hop reads of the wiring: the environment variable names infra sets, and config paths.

Kept apart from the declarations (hops, queues, state machines) so a handler's runtime resolves its tables,
queues and secrets without loading them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.connectors.roles import Role

if TYPE_CHECKING:
    from shared.config import ClientConfig

# The one webhook receiver's route: the receiver's handler and API Gateway both read it.
WEBHOOK_PATH = "/webhooks/{platform}/{channel}"


def config_value(config: ClientConfig, path: str) -> str:
    """Follow a dotted path into the client config: attributes (e.g. 'pipelines.orders.poll_schedule'), or
    a role first ('order_source.credentials_secret': the settings of the platform playing that role)."""
    head, _, rest = path.partition(".")
    value: object = config.settings_for(Role(head)) if head in ROLE_NAMES else config
    for part in (rest if head in ROLE_NAMES else path).split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return str(value)


ROLE_NAMES = frozenset(role.value for role in Role)


# Environment variable names: the only contract between infra (which sets them) and runtime (reads them).
def queue_url_env(name: str) -> str:
    return f"QUEUE_URL_{name.upper().replace('-', '_')}"


def table_env(name: str) -> str:
    return f"TABLE_{name.upper().replace('-', '_')}"


def bucket_env(name: str) -> str:
    return f"BUCKET_{name.upper().replace('-', '_')}"


def secret_env(path: str) -> str:
    return "SECRET_" + path.upper().replace(".", "_")


def state_machine_env(name: str) -> str:
    return f"STATE_MACHINE_ARN_{name.upper().replace('-', '_')}"
