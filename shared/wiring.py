"""What one hop is given, derived from the topology alone: its environment and its grants.

infra/ sets exactly this environment on the hop's function and grants exactly these actions; sandbox/
invokes the hop with the same environment and refuses any call outside the same grants. Values are the
deployment's names: physical names in the sandbox, CloudFormation tokens in infra/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared import topology
from shared.config import CLIENT_CONFIG_ENV, ClientConfig

METRICS_NAMESPACE = "Hopline"


@dataclass(frozen=True)
class ResourceNames:
    """Where the topology's resources live in one deployment, by topology name."""

    tables: dict[str, str] = field(default_factory=dict)  # table name
    queues: dict[str, str] = field(default_factory=dict)  # queue URL
    buckets: dict[str, str] = field(default_factory=dict)  # bucket name
    state_machines: dict[str, str] = field(default_factory=dict)  # state machine ARN


@dataclass(frozen=True)
class Grant:
    """Actions allowed on one resource, named as the calls name it (table, bucket, queue URL, secret, ARN)."""

    resource: str
    actions: frozenset[str]

    @property
    def service(self) -> str:
        """The IAM service prefix shared by the actions ("dynamodb", "s3", "sqs", ...)."""
        return next(iter(self.actions)).split(":", 1)[0]


def hop_environment(config: ClientConfig, hop: topology.Hop, names: ResourceNames) -> dict[str, str]:
    """Every variable the hop's function carries: its identity and config, then only what it may touch."""
    environment = {
        "POWERTOOLS_SERVICE_NAME": f"hopline-{hop.name}",
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": config.log_level,
        "LOG_LEVEL": config.log_level,
        "CLIENT_ID": config.client,
        CLIENT_CONFIG_ENV: config.to_env(),
        topology.PRIORITY_ENV: hop.priority,
        # No hop uses a pydantic plugin; without this the first model scans every installed package's entry points.
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    for queue in hop.sends_to:  # a queue of a pipeline the client does not run is not there to send to
        if queue in names.queues:
            environment[topology.queue_url_env(queue)] = names.queues[queue]
    for table in hop.tables:
        environment[topology.table_env(table)] = names.tables[table]
    for bucket in hop.buckets:
        environment[topology.bucket_env(bucket)] = names.buckets[bucket]
    # Secret names only: values are fetched (and cached) at run time, never placed in the environment.
    for path in hop.secrets:
        environment[topology.secret_env(path)] = topology.config_value(config, path)
    for machine in hop.starts:
        environment[topology.state_machine_env(machine)] = names.state_machines[machine]
    return environment


def hop_grants(config: ClientConfig, hop: topology.Hop, names: ResourceNames) -> tuple[Grant, ...]:
    """The hop's grants on the deployment's resources: what infra's policy allows, resource by resource."""
    grants = [Grant(names.tables[t], frozenset(actions)) for t, actions in hop.tables.items()]
    grants += [Grant(names.buckets[b], frozenset(actions)) for b, actions in hop.buckets.items()]
    grants += [Grant(names.queues[q], frozenset({topology.SEND_MESSAGE})) for q in hop.sends_to if q in names.queues]
    grants += [Grant(topology.config_value(config, p), frozenset({topology.GET_SECRET_VALUE})) for p in hop.secrets]
    grants += [Grant(names.state_machines[m], frozenset({topology.START_EXECUTION})) for m in hop.starts]
    return tuple(grants)
