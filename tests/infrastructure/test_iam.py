"""Least privilege: who may send where, read which secret, touch which table."""

from __future__ import annotations

import pytest

from tests.infrastructure.template_queries import TemplateQueries, render
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

# Which stage queues each function may send to (docs/architecture.md). The hand-offs
# to a stage's own queue and the waves of chunks are sends the layer makes (or is
# about to make: query_show_data/crawl hand-offs, tracker/watchdog waves).
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

# The independent oracle: function -> table -> the exact DynamoDB actions it may use
# on the table itself, read off the calls each function's code makes. Written out in
# full on purpose (the stack composes these from shared tuples). No Scan anywhere;
# deletes only for the api (DELETE) and the watchdog (its purge sweep).
_STAGE = {"GetItem", "UpdateItem", "ConditionCheckItem"}
TABLE_ACTIONS = {
    "api": {
        "sessions": {"GetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "Query", "DeleteItem", "BatchWriteItem"},
        "viewing": {"Query", "DeleteItem", "BatchWriteItem"},
    },
    "query_activities": {"sessions": _STAGE, "viewing": {"Query", "PutItem", "UpdateItem"}},
    # the budget bucket: only the callers of a service with a budget (TMDB, Rotten Tomatoes by
    # default), only the conditional updates that reserve and push slots
    "query_show_data": {
        "sessions": _STAGE | {"PutItem"},
        "viewing": {"UpdateItem"},
        "show_cache": {"BatchGetItem", "BatchWriteItem", "PutItem", "UpdateItem"},
        "upstream_budgets": {"UpdateItem"},
    },
    "crawl_rotten_tomatoes": {"sessions": _STAGE | {"PutItem"}, "show_cache": {"BatchGetItem", "UpdateItem"},
                              "upstream_budgets": {"UpdateItem"}},
    "tv_bff": {"sessions": _STAGE, "viewing": {"Query"}, "show_cache": {"BatchGetItem"}},
    "star_sign_picker": {"sessions": _STAGE, "viewing": {"Query"}, "show_cache": {"BatchGetItem"}},
    "progress_tracker": {"sessions": _STAGE, "viewing": {"Query"}, "show_cache": {"BatchGetItem"}},
    "dead_letters": {"sessions": _STAGE | {"PutItem"}},
    "watchdog": {
        "sessions": _STAGE | {"Query", "DeleteItem", "BatchWriteItem"},
        "viewing": {"Query", "DeleteItem", "BatchWriteItem"},
        "show_cache": {"BatchGetItem"},
    },
}
# function -> (table, index) -> actions on that one index.
INDEX_ACTIONS = {
    "watchdog": {("sessions", "active-sessions"): {"Query"}},
    "query_show_data": {("show_cache", "by-imdb"): {"Query"}},
}
# function -> exact object actions on `<uploads bucket>/uploads/*` (nothing else of the bucket).
UPLOAD_ACTIONS = {
    "api": {"s3:PutObject", "s3:DeleteObject"},
    "query_activities": {"s3:GetObject"},
}
# The stream read grants of the tracker's event source mapping, on the stream ARN.
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}

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


def test_no_managed_policy_and_each_role_writes_only_its_own_log_group(queries: TemplateQueries) -> None:
    for directory in FUNCTIONS:
        role = queries.props(queries.role_id(directory))
        assert "ManagedPolicyArns" not in role  # no AWSLambdaBasicExecutionRole (logs:* everywhere)
        log_group = queries.function(directory)["LoggingConfig"]["LogGroup"]["Ref"]
        log_grants = [g for g in queries.grants(directory) if g.action.startswith("logs:")]
        assert {g.action for g in log_grants} == {"logs:CreateLogStream", "logs:PutLogEvents"}
        assert {rid for g in log_grants for rid in g.resource_ids} == {log_group}


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


def _dynamodb_grants(queries: TemplateQueries, directory: str) -> dict[str, set[str]]:
    """Rendered resource (`<Table.Arn>`, `<Table.Arn>/index/x`, `<Table.StreamArn>`)
    -> the DynamoDB actions (without prefix) granted on it."""
    found: dict[str, set[str]] = {}
    for grant in queries.grants(directory):
        if grant.action.startswith("dynamodb:") and grant.resource != "*":
            found.setdefault(render(grant.resource), set()).add(grant.action.partition(":")[2])
    return found


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_table_and_index_actions_are_exactly_the_oracles(queries: TemplateQueries, directory: str) -> None:
    tables = {role: lid for role, (lid, _) in tables_by_role(queries).items()}
    expected = {f"<{tables[t]}.Arn>": actions for t, actions in TABLE_ACTIONS[directory].items()}
    for (table, index), actions in INDEX_ACTIONS.get(directory, {}).items():
        expected[f"<{tables[table]}.Arn>/index/{index}"] = actions
    if directory == "progress_tracker":
        expected[f"<{tables['sessions']}.StreamArn>"] = {a.partition(":")[2] for a in STREAM_ACTIONS}
    assert _dynamodb_grants(queries, directory) == expected


def test_nobody_may_scan_and_only_api_and_watchdog_may_delete_session_data(queries: TemplateQueries) -> None:
    tables = {role: lid for role, (lid, _) in tables_by_role(queries).items()}
    session_data = {f"<{tables[role]}.Arn>" for role in ("sessions", "viewing")}
    for directory in FUNCTIONS:
        grants = _dynamodb_grants(queries, directory)
        assert "Scan" not in {a for granted in grants.values() for a in granted}
        if directory not in ("api", "watchdog"):  # BatchWriteItem may delete; the show cache is not a session's
            on_session_data = {a for resource, granted in grants.items() if resource in session_data for a in granted}
            assert not on_session_data & {"DeleteItem", "BatchWriteItem"}, directory


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_uploads_bucket_actions_are_exact_object_actions_on_the_prefix(
    queries: TemplateQueries, directory: str
) -> None:
    [bucket] = queries.of_type("AWS::S3::Bucket")
    on_bucket = {
        (grant.action, render(grant.resource))
        for grant in queries.grants(directory)
        if bucket in grant.resource_ids
    }
    expected = {(action, f"<{bucket}.Arn>/uploads/*") for action in UPLOAD_ACTIONS.get(directory, set())}
    if directory == "api":  # POST /sessions {uploadId} reads uploads, never a session's export
        expected.add(("s3:GetObject", f"<{bucket}.Arn>/uploads/incoming/*"))
    assert on_bucket == expected
