"""The synthesized CloudFormation template (once per test session) and helpers that
create its tables in moto, so integration tests run against the real key schemas."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


@lru_cache(maxsize=1)
def synthesized_template() -> dict[str, Any]:
    from aws_cdk.assertions import Template

    from app import build_app, project_context

    _, stack = build_app(project_context(**{"aws:cdk:bundling-stacks": []}))
    return Template.from_stack(stack).to_json()


TABLE_ROLES = {("pk", "sk"): "sessions", ("session_id", "show_key"): "viewing", ("show_id",): "show_cache"}


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
