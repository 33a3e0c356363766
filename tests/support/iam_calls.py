"""The DynamoDB calls a handler makes, checked against its role in the synthesized template.

moto does not enforce IAM: a call the role lacks passes every local test and is
AccessDenied on AWS (the chunk-wide BatchGetItem/BatchWriteItem of the show cache
was, until this check). So the calls are recorded where they leave our code, at
botocore, and each is looked up in the Allow statements of the function's role."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

from botocore.client import BaseClient

from tests.infrastructure.template_queries import TemplateQueries, render

# (action, table name, index name or None) an IAM policy must allow.
Needed = tuple[str, str, str | None]
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def needed(operation: str, params: Mapping[str, Any]) -> set[Needed]:
    """What one DynamoDB API call needs: a transaction needs each item's action on its
    table, a batch the batch action on every table it names."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return {(_TRANSACT_ACTIONS[kind], body["TableName"], None)
                for item in params["TransactItems"] for kind, body in item.items()}
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return {(operation, table, None) for table in params["RequestItems"]}
    if "TableName" in params:
        return {(operation, params["TableName"], params.get("IndexName"))}
    return {(operation, "*", None)}


@contextmanager
def recording() -> Iterator[set[Needed]]:
    calls: set[Needed] = set()
    original = BaseClient._make_api_call

    def spy(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            calls.update(needed(operation, params))
        return original(client, operation, params)

    with patch.object(BaseClient, "_make_api_call", spy):
        yield calls


def table_ids(queries: TemplateQueries, tables: Mapping[str, str]) -> dict[str, str]:
    """Table name -> its logical id in the template (`tables`: role -> table name)."""
    from tests.infrastructure.test_data_stores import tables_by_role

    return {tables[role]: lid for role, (lid, _) in tables_by_role(queries).items()}


def ungranted(calls: set[Needed], queries: TemplateQueries, directory: str,
              table_ids: Mapping[str, str]) -> set[Needed]:
    """The calls the role of lambdas/<directory> is not allowed (table name -> logical id)."""
    granted = {(grant.action, render(grant.resource)) for grant in queries.grants(directory)}

    def allowed(action: str, table: str, index: str | None) -> bool:
        resource = f"<{table_ids[table]}.Arn>" + (f"/index/{index}" if index else "")
        return (f"dynamodb:{action}", resource) in granted

    return {call for call in calls if not allowed(*call)}


def granted_only(directory: str, handler: Callable[[Any, Any], Any], cdk_template: dict[str, Any],
                 tables: Mapping[str, str]) -> Callable[[Any, Any], Any]:
    """`handler` wrapped so that every DynamoDB call it makes must be allowed to the role
    of lambdas/<directory> (`tables`: role -> table name, as `moto_tables` gives)."""
    queries = TemplateQueries(cdk_template)
    ids = table_ids(queries, tables)

    def checked(event: Any, context: Any) -> Any:
        with recording() as calls:
            result = handler(event, context)
        missing = ungranted(calls, queries, directory, ids)
        assert not missing, f"{directory}'s role lacks {sorted(missing, key=str)}"
        return result

    return checked
