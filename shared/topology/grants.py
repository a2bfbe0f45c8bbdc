"""IAM actions a hop may be granted, and the named sets that say what store methods do."""

from __future__ import annotations

from typing import Literal

# IAM actions a hop may be granted, spelled as a policy spells them (the sandbox checks calls against these).
GET_ITEM = "dynamodb:GetItem"
PUT_ITEM = "dynamodb:PutItem"
UPDATE_ITEM = "dynamodb:UpdateItem"
DELETE_ITEM = "dynamodb:DeleteItem"
QUERY = "dynamodb:Query"
SCAN = "dynamodb:Scan"
BATCH_GET_ITEM = "dynamodb:BatchGetItem"
BATCH_WRITE_ITEM = "dynamodb:BatchWriteItem"
GET_OBJECT = "s3:GetObject"
PUT_OBJECT = "s3:PutObject"
LIST_BUCKET = "s3:ListBucket"
SEND_MESSAGE = "sqs:SendMessage"
GET_SECRET_VALUE = "secretsmanager:GetSecretValue"  # noqa: S105 - an IAM action name, not a secret
START_EXECUTION = "states:StartExecution"
TABLE_ACTIONS = frozenset({GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM, QUERY, SCAN, BATCH_GET_ITEM, BATCH_WRITE_ITEM})
BUCKET_ACTIONS = frozenset({GET_OBJECT, PUT_OBJECT, LIST_BUCKET})
Actions = tuple[str, ...]

# Named sets: what store methods do (shared/stores/*), so a hop's declaration reads as its behaviour.
RAISE: Actions = (UPDATE_ITEM,)  # exceptions.quarantine (opens or counts one reason), schedule_retry, mark_requeued
RAISE_AND_RESOLVE: Actions = (UPDATE_ITEM, QUERY)  # + exceptions.resolve, quarantine(supersede=True): by-key
# A queue consumer: quarantines a bad message, reads the exception a replay names (get), resolves it once it parses.
CONSUME: Actions = (GET_ITEM, UPDATE_ITEM, QUERY)
CURSOR: Actions = (GET_ITEM, PUT_ITEM)  # cursors.get, advance, move_to
RATE_BUDGET: Actions = (GET_ITEM, PUT_ITEM)  # rate_budget.DynamoTokenBucket: read, conditional write
# Powertools idempotency: conditional put, read on conflict, update on success, delete when the call fails.
IDEMPOTENCY: Actions = (GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM)
ARCHIVE: Actions = (PUT_OBJECT,)  # archive.put, put_report
# Order hops draw on a shared rate budget freely; background hops (stock, catalogue) yield to them.
Priority = Literal["orders", "background"]
PRIORITY_ENV = "HOPLINE_PRIORITY"
BUDGET_TABLE = "rate-budgets"
