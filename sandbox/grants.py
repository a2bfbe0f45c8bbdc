"""IAM, stood in for: a call a running hop was not granted fails with AccessDenied, as it would in AWS.

moto enforces no IAM, so without this a hop could touch any table, queue, bucket, secret or state machine
in the sandbox and only fail once deployed. One botocore hook (on every session created after import, and
the default session) checks each call made while a hop runs on this thread against that hop's grants
(shared.wiring.hop_grants) and answers a refused call with the error response AWS sends, so botocore raises
the same ClientError. Calls outside a hop (the sandbox creating resources, a test inspecting them) pass.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.handlers import BUILTIN_HANDLERS

from shared.wiring import Grant

_PARAMS = "hopline_api_params"
_current = threading.local()
# (hop, action, resource) of every call checked, allowed or not: what the grants must cover.
calls: Counter[tuple[str, str, str]] = Counter()
enforce = True  # False only records (to list what a hop's code calls before writing its grants)

# Operations whose IAM action is not "<service>:<Operation>" (the IAM service authorization reference).
_S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
}
_SQS_ACTIONS = {
    "SendMessageBatch": "sqs:SendMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
_TRANSACT_WRITE = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_ERROR_CODES = {"s3": "AccessDenied", "sqs": "AccessDenied"}


class _Scope:
    def __init__(self, hop: str, grants: Iterable[Grant]):
        self.hop = hop
        self.allowed: dict[str, set[str]] = {}
        for grant in grants:
            self.allowed.setdefault(grant.resource, set()).update(grant.actions)

    def permits(self, action: str, resource: str) -> bool:
        return action in self.allowed.get(resource, set())


@contextmanager
def acting_as(hop: str, grants: Iterable[Grant]) -> Iterator[None]:
    """Calls on this thread are checked against `grants` until the block ends (one hop invocation)."""
    previous = getattr(_current, "scope", None)
    _current.scope = _Scope(hop, grants)
    try:
        yield
    finally:
        _current.scope = previous


def required(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(IAM action, resource) pairs a call needs, the resource named as the hop's grants name it."""
    if service == "dynamodb":
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", table) for table in params.get("RequestItems", {})]
        if operation == "TransactWriteItems":
            return [
                (_TRANSACT_WRITE[kind], body["TableName"])
                for item in params.get("TransactItems", [])
                for kind, body in item.items()
            ]
        if operation == "TransactGetItems":
            return [("dynamodb:GetItem", item["Get"]["TableName"]) for item in params.get("TransactItems", [])]
        return [(f"dynamodb:{operation}", str(params.get("TableName", "*")))]
    if service == "s3":
        return [(_S3_ACTIONS.get(operation, f"s3:{operation}"), str(params.get("Bucket", "*")))]
    if service == "sqs":
        return [(_SQS_ACTIONS.get(operation, f"sqs:{operation}"), str(params.get("QueueUrl", "*")))]
    if service == "secretsmanager":
        return [(f"secretsmanager:{operation}", str(params.get("SecretId", "*")))]
    if service == "stepfunctions":
        resource = params.get("stateMachineArn") or params.get("executionArn") or "*"
        return [(f"states:{operation}", str(resource))]
    return [(f"{service}:{operation}", "*")]


def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context[_PARAMS] = params


def _check(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    scope: _Scope | None = getattr(_current, "scope", None)
    if scope is None:
        return None
    service = model.service_model.service_name
    for action, resource in required(service, model.name, context.get(_PARAMS, {})):
        calls[(scope.hop, action, resource)] += 1
        if enforce and not scope.permits(action, resource):
            code = _ERROR_CODES.get(service, "AccessDeniedException")
            message = (
                f"User: arn:aws:sts::123456789012:assumed-role/{scope.hop}/{scope.hop} is not authorized "
                f"to perform: {action} on resource: {resource} because no identity-based policy allows "
                f"the {action} action"
            )
            body = {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 403, "HTTPHeaders": {}},
            }
            return AWSResponse("https://iam.sandbox", 403, HTTPHeaders(), None), body
    return None


_HANDLERS = (("before-parameter-build", _remember_params), ("before-call", _check))
_install_lock = threading.Lock()


def install() -> None:
    """Register the check on every botocore session created from now on (moto gives each mock a fresh
    default session, and Powertools builds its own), and on a default session that already exists."""
    with _install_lock:
        if (_HANDLERS[0][0], _HANDLERS[0][1]) in BUILTIN_HANDLERS:
            return
        BUILTIN_HANDLERS.extend(_HANDLERS)
        session = boto3.DEFAULT_SESSION
        if session is not None:
            for event, handler in _HANDLERS:
                session.events.register(event, handler)  # type: ignore[arg-type]


install()
