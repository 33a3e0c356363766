"""Least privilege: who may send where, read which secret, touch which table."""

from __future__ import annotations

import pytest

from tests.infrastructure.template_queries import TemplateQueries
from tests.infrastructure.test_data_stores import tables_by_role

FUNCTIONS = (
    "api",
    "query_activities",
    "query_show_data",
    "crawl_rotten_tomatoes",
    "tv_bff",
    "star_sign_picker",
    "progress_tracker",
    "dead_letters",
    "watchdog",
)

# Which stage queues each function may send to (docs/architecture.md).
SENDS = {
    "api": {"query_activities"},
    "query_activities": {"query_activities", "query_show_data"},
    "query_show_data": {"query_show_data", "crawl_rotten_tomatoes"},  # its own queue: hand-off
    "crawl_rotten_tomatoes": {"crawl_rotten_tomatoes"},  # hand-off
    "tv_bff": set(),
    "star_sign_picker": set(),
    "progress_tracker": {"tv_bff", "star_sign_picker", "query_show_data"},  # chunk waves
    "dead_letters": set(),
    "watchdog": {"tv_bff", "star_sign_picker", "query_show_data"},
}

SECRET_READERS = {
    "GandalfPrivateKey": {"query_activities", "api"},  # api: the Connect public key
    "TmdbApiKey": {"query_show_data"},
    "OpenAiApiKey": {"tv_bff", "star_sign_picker"},
}

# role -> (tables it may write, tables it may only read), per the function table.
TABLE_ACCESS = {
    "api": ({"sessions", "viewing"}, set()),
    "query_activities": ({"sessions", "viewing"}, set()),
    "query_show_data": ({"sessions", "viewing", "show_cache"}, set()),
    "crawl_rotten_tomatoes": ({"sessions", "show_cache"}, set()),
    "tv_bff": ({"sessions"}, {"viewing", "show_cache"}),
    "star_sign_picker": ({"sessions"}, {"viewing", "show_cache"}),
    "progress_tracker": ({"sessions"}, {"viewing", "show_cache"}),
    "dead_letters": ({"sessions"}, set()),
    "watchdog": ({"sessions"}, {"viewing", "show_cache"}),
}

WRITE_VERBS = ("Put", "Update", "Delete", "Write", "Send", "Create", "Remove", "Tag", "Untag", "Attach", "Set")


def test_every_function_has_a_role_of_its_own(queries: TemplateQueries) -> None:
    roles = [queries.role_id(d) for d in FUNCTIONS]
    assert len(set(roles)) == len(FUNCTIONS)
    assert set(queries.function_ids()) == set(FUNCTIONS)


def test_no_statement_allows_every_action(queries: TemplateQueries) -> None:
    for directory in FUNCTIONS:
        for grant in queries.grants(directory):
            service, _, verb = grant.action.partition(":")
            assert grant.action != "*" and verb != "*", f"{directory}: {grant.action}"


XRAY_UPLOAD = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_no_write_action_applies_to_every_resource(queries: TemplateQueries) -> None:
    for directory in FUNCTIONS:
        for grant in queries.grants(directory):
            # X-Ray's segment upload has no resource-level permissions.
            if grant.resource == "*" and grant.action not in XRAY_UPLOAD:
                verb = grant.action.partition(":")[2]
                assert not verb.startswith(WRITE_VERBS), f"{directory}: {grant.action} on *"


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_only_actions_without_resource_level_permissions_use_a_wildcard(
    queries: TemplateQueries, directory: str
) -> None:
    on_everything = {grant.action for grant in queries.grants(directory) if grant.resource == "*"}
    # dynamodb:ListStreams (stream discovery by the event source) has no resource ARN.
    expected = XRAY_UPLOAD | ({"dynamodb:ListStreams"} if directory == "progress_tracker" else set())
    assert on_everything == expected


def test_only_the_aws_managed_basic_execution_policy_is_attached(queries: TemplateQueries) -> None:
    for directory in FUNCTIONS:
        role = queries.props(queries.role_id(directory))
        [managed] = role["ManagedPolicyArns"]
        assert managed["Fn::Join"][1][-1].endswith("service-role/AWSLambdaBasicExecutionRole")


def _stage_queue_ids(queries: TemplateQueries) -> dict[str, str]:
    return {
        d: queries.queue_feeding(d)
        for d in ("query_activities", "query_show_data", "crawl_rotten_tomatoes", "tv_bff", "star_sign_picker")
    }


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_function_sends_only_to_the_queues_it_feeds(queries: TemplateQueries, directory: str) -> None:
    stage_queue_of = _stage_queue_ids(queries)
    sendable = queries.granted_ids(directory, "sqs:SendMessage")
    stage_targets = {stage for stage, queue in stage_queue_of.items() if queue in sendable}

    assert stage_targets == SENDS[directory]
    # The only other queue any function may send to: the stream's on-failure
    # queue, written by Lambda on the tracker's behalf.
    others = sendable - set(stage_queue_of.values())
    if directory == "progress_tracker":
        assert len(others) == 1
    else:
        assert others == set()


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_send_grants_match_the_queue_urls_the_function_is_given(queries: TemplateQueries, directory: str) -> None:
    stage_queue_of = _stage_queue_ids(queries)
    url_env = {
        key: value["Ref"]
        for key, value in queries.environment(directory).items()
        if key.endswith("_QUEUE_URL")
    }
    given = {stage for stage, queue in stage_queue_of.items() if queue in url_env.values()}
    assert given == SENDS[directory]


def test_each_secret_is_readable_only_by_the_function_that_needs_it(queries: TemplateQueries) -> None:
    secrets = queries.of_type("AWS::SecretsManager::Secret")
    by_construct = {construct: lid for lid in secrets for construct in SECRET_READERS if lid.startswith(construct)}
    assert set(by_construct) == set(SECRET_READERS)

    for construct, readers in SECRET_READERS.items():
        secret = by_construct[construct]
        actual = {d for d in FUNCTIONS if secret in queries.granted_ids(d, "secretsmanager:GetSecretValue")}
        assert actual == readers, construct


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_table_access_follows_the_function_table(queries: TemplateQueries, directory: str) -> None:
    table_role = {lid: role for role, (lid, _) in tables_by_role(queries).items()}
    writable = {table_role[t] for t in queries.granted_ids(directory, "dynamodb:PutItem") if t in table_role}
    readable = {table_role[t] for t in queries.granted_ids(directory, "dynamodb:GetItem") if t in table_role}

    writes, reads_only = TABLE_ACCESS[directory]
    assert writable == writes
    assert readable == writes | reads_only


def test_uploads_bucket_is_written_by_the_api_and_read_by_query_activities(queries: TemplateQueries) -> None:
    [bucket] = queries.of_type("AWS::S3::Bucket")
    writers = {d for d in FUNCTIONS if bucket in queries.granted_ids(d, "s3:PutObject")}
    readers = {d for d in FUNCTIONS if bucket in queries.granted_ids(d, "s3:GetObject*")}
    deleters = {d for d in FUNCTIONS if bucket in queries.granted_ids(d, "s3:DeleteObject*")}
    assert (writers, readers, deleters) == ({"api"}, {"api", "query_activities"}, {"api"})  # api: uploads/incoming/ only


def test_the_api_reads_only_incoming_uploads_never_a_sessions_export(queries: TemplateQueries) -> None:
    import json

    reads = [json.dumps(grant.resource) for grant in queries.grants("api") if grant.action == "s3:GetObject*"]
    objects = [resource for resource in reads if "Fn::Join" in resource]  # object ARNs: bucket ARN + /key
    assert objects and all(resource.endswith('"/uploads/incoming/*"]]}') for resource in objects), objects
