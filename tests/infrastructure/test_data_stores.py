"""Tables and the uploads bucket."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.template_queries import TemplateQueries

KEYS = {
    "sessions": [("pk", "HASH"), ("sk", "RANGE")],
    "viewing": [("session_id", "HASH"), ("show_key", "RANGE")],
    "show_cache": [("show_id", "HASH")],
    "upstream_budgets": [("service", "HASH")],
}


def tables_by_role(queries: TemplateQueries) -> dict[str, tuple[str, dict[str, Any]]]:
    found = {}
    for lid, table in queries.of_type("AWS::DynamoDB::Table").items():
        keys = [(k["AttributeName"], k["KeyType"]) for k in table["Properties"]["KeySchema"]]
        [role] = [role for role, expected in KEYS.items() if expected == keys]
        found[role] = (lid, table)
    return found


def _indexes(props: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {
        gsi["IndexName"]: [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]]
        for gsi in props.get("GlobalSecondaryIndexes", [])
    }


def test_there_are_exactly_four_plain_tables(queries: TemplateQueries) -> None:
    # dynamodb.Table, not TableV2: moto's CloudFormation has no GlobalTable.
    assert not queries.of_type("AWS::DynamoDB::GlobalTable")
    assert set(tables_by_role(queries)) == set(KEYS)


@pytest.mark.parametrize("role", sorted(KEYS))
def test_table_is_on_demand_recoverable_encrypted_and_expires_items(queries: TemplateQueries, role: str) -> None:
    _, table = tables_by_role(queries)[role]
    props = table["Properties"]

    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert "KMSMasterKeyId" not in props["SSESpecification"]  # AWS-managed key


def test_sessions_streams_both_images_and_has_the_sparse_active_index(queries: TemplateQueries) -> None:
    _, table = tables_by_role(queries)["sessions"]
    props = table["Properties"]

    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    # Keyed on a stamp that never moves and keys-only: session writes do not touch it.
    assert _indexes(props) == {"active-sessions": [("active", "HASH"), ("created_at", "RANGE")]}
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_show_cache_is_indexed_by_imdb_id(queries: TemplateQueries) -> None:
    _, table = tables_by_role(queries)["show_cache"]
    assert _indexes(table["Properties"]) == {
        "by-imdb": [("imdb_id", "HASH")],
    }


def test_the_budget_bucket_is_one_item_per_service_with_no_index(queries: TemplateQueries) -> None:
    _, table = tables_by_role(queries)["upstream_budgets"]
    assert _indexes(table["Properties"]) == {}
    assert "StreamSpecification" not in table["Properties"]


def test_only_the_sessions_table_streams(queries: TemplateQueries) -> None:
    tables = tables_by_role(queries)
    assert [role for role, (_, t) in tables.items() if "StreamSpecification" in t["Properties"]] == ["sessions"]


def test_every_key_attribute_is_a_string(queries: TemplateQueries) -> None:
    for _, table in tables_by_role(queries).values():
        assert {a["AttributeType"] for a in table["Properties"]["AttributeDefinitions"]} == {"S"}


def test_shared_cache_is_retained_and_personal_tables_go_with_the_stack(queries: TemplateQueries) -> None:
    policies = {role: table["DeletionPolicy"] for role, (_, table) in tables_by_role(queries).items()}
    # the budgets' slots mean nothing a few seconds later
    assert policies == {"sessions": "Delete", "viewing": "Delete", "show_cache": "Retain", "upstream_budgets": "Delete"}


def test_uploads_bucket_is_private_encrypted_tls_only_and_expires_uploads(queries: TemplateQueries) -> None:
    [(bucket_id, bucket)] = queries.of_type("AWS::S3::Bucket").items()
    props = bucket["Properties"]

    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", 1)

    [policy] = [
        p["Properties"]
        for p in queries.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )
