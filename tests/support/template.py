"""Create the synthesized template's tables in moto, so integration tests run against
the real key schemas (the template comes from the `cdk_template` fixture)."""
from __future__ import annotations

from typing import Any

import boto3

TABLE_ROLES = {("pk", "sk"): "sessions", ("session_id", "show_key"): "viewing", ("show_id",): "show_cache",
               ("service",): "upstream_budgets"}


def table_role(properties: dict[str, Any]) -> str:
    keys = tuple(k["AttributeName"] for k in properties["KeySchema"])
    return TABLE_ROLES[keys]


def create_tables(template: dict[str, Any], region: str = "us-east-1") -> dict[str, str]:
    """Create every AWS::DynamoDB::Table of the template in the current moto; returns
    role -> table name."""
    client = boto3.client("dynamodb", region_name=region)
    names: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        role = table_role(props)
        kwargs: dict[str, Any] = {
            "TableName": f"{role}-{logical_id[-8:]}".lower(),
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        client.create_table(**kwargs)
        names[role] = kwargs["TableName"]
    return names
