"""Holes in the layer code that the hostile local AWS exposed (issue 7 §2.1),
kept as guards now that the layer reads CancellationReasons.

Each test runs the real repository against moto behind the fault layer, signed
as a function is (so faults apply), with the deployed botocore retries. Before
the fix a TransactionConflict on the count was taken for a duplicate (the chunk
acknowledged and never counted: a light session FAILED STALLED), and on create
for a token replay (RuntimeError, a 5xx with a misleading cause)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from local.aws_faults import HostileAws
from tvreport import aws as tvreport_aws
from tvreport.repositories.sessions import SessionRepository
from tvreport.session_model import Stage, State

from .conftest import SmallDeployment


@pytest.fixture
def sessions(deployment: SmallDeployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionRepository]:
    """A sessions-shaped table (pk, sk) and the repository as a function sees it."""
    name = f"sessions-{uuid.uuid4().hex[:8]}"
    deployment.aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for key, value in deployment.aws.worker_env().items():
        monkeypatch.setenv(key, value)
    tvreport_aws.reset()
    yield SessionRepository(name, ttl_days=1)
    deployment.aws.hostile.configure(None)
    tvreport_aws.reset()
    deployment.aws.client("dynamodb").delete_table(TableName=name)


def test_a_count_cancelled_by_a_conflict_is_not_taken_for_a_duplicate(
    sessions: SessionRepository, deployment: SmallDeployment
) -> None:
    hostile: HostileAws = deployment.aws.hostile
    sessions.create("s-1", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    hostile.configure({"dynamodb:TransactWriteItems": 1.0})  # TransactionConflict or ThrottlingError

    try:
        counted = sessions.count_chunk("s-1", Stage.QUERY_SHOW_DATA, 0, shows_done=50, shows_failed=0)
    except ClientError:
        counted = None  # raised: the record fails and is retried, which is right
    # False means "duplicate": the message is acknowledged and the chunk never counted
    assert counted is not False
    hostile.configure(None)
    assert sessions.count_chunk("s-1", Stage.QUERY_SHOW_DATA, 0, shows_done=50, shows_failed=0) is True


def test_a_create_cancelled_by_a_conflict_is_a_retryable_error(
    sessions: SessionRepository, deployment: SmallDeployment
) -> None:
    deployment.aws.hostile.configure({"dynamodb:TransactWriteItems": 1.0})

    # a conflict is AWS's retryable TransactionCanceledException, surfaced once retries run out
    with pytest.raises(ClientError) as raised:
        sessions.create("s-2", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97,
                        client_token=uuid.uuid4().hex)
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
