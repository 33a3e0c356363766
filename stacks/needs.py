"""What each function may touch, one entry per function: the stack applies every
entry in one loop (pipeline_stack._wire), so reading one entry is enough to know
what that function may read, write, send to and call.

Stages are named by the stage registry (tvreport.schema); a follow-up stage added
there gets FOLLOW_UP here and is sent by the tracker and re-sent by the watchdog,
with no edit. The infrastructure tests keep an independent literal copy of the
grants (tests/infrastructure/test_iam.py) as the security oracle.

DynamoDB actions are read from the calls each function's code makes
(tvreport/repositories): TransactWriteItems is authorized per item (Put -> PutItem,
Update -> UpdateItem, ConditionCheck -> ConditionCheckItem), boto3's batch_writer is
BatchWriteItem. No function may Scan; only the api (DELETE) and the watchdog (its
delayed purge sweep) may delete session data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from tvreport.schema import ACTIVE_SESSIONS_INDEX, BY_IMDB_INDEX, CHUNKED, FOLLOW_UPS, STAGES, Stage

Actions = tuple[str, ...]


@dataclass(frozen=True)
class Needs:
    # table role ("sessions", "viewing", "show_cache") -> exact DynamoDB actions on the table
    tables: Mapping[str, Actions] = field(default_factory=dict)
    # (table role, index name) -> actions on that one index (not `index/*`)
    indexes: Mapping[tuple[str, str], Actions] = field(default_factory=dict)
    # object actions on `uploads/*` of the uploads bucket (and its name in the environment)
    uploads: Actions = ()
    # stage queues it sends to: the queue URL under the stage's key, and a send grant
    sends_to: tuple[Stage, ...] = ()
    # the outside service it calls (URL, secret by name and a read grant, rate limits);
    # for a stage, its registry entry's `upstream`
    upstream: str | None = None


_SESSION_STAGE: Actions = ("GetItem", "UpdateItem", "ConditionCheckItem")  # check, advance, end a session
_COUNTS_CHUNKS: Actions = (*_SESSION_STAGE, "PutItem")  # + the chunk ledger item
_PURGES: Actions = ("Query", "DeleteItem", "BatchWriteItem")  # every item of one session, by key
_REPORT_READER: Mapping[str, Actions] = {"viewing": ("Query",), "show_cache": ("BatchGetItem",)}
_FOLLOW_UP_STAGES = tuple(spec.stage for spec in FOLLOW_UPS)
# A session's chunks (its waves) go to the first chunked stage; each forwards to the next.
_CHUNKS_START = CHUNKED[0].stage


def _stage(stage: Stage, needs: Needs) -> tuple[str, Needs]:
    """A stage's entry, under its folder, with its registry upstream."""
    spec = STAGES[stage]
    return spec.folder, replace(needs, upstream=spec.upstream)


# Every follow-up stage: reads the report's inputs, stores its result once.
FOLLOW_UP = Needs(tables={"sessions": _SESSION_STAGE, **_REPORT_READER})

NEEDS: Mapping[str, Needs] = dict(
    [
        (
            "api",
            Needs(
                tables={"sessions": (*_COUNTS_CHUNKS, *_PURGES), "viewing": _PURGES},  # PutItem: create
                uploads=("s3:PutObject", "s3:DeleteObject"),  # POST stores the export; DELETE removes it
                sends_to=(Stage.QUERY_ACTIVITIES,),
            ),
        ),
        _stage(
            Stage.QUERY_ACTIVITIES,
            Needs(
                tables={"sessions": _SESSION_STAGE, "viewing": ("Query", "PutItem", "UpdateItem")},  # records, pages
                uploads=("s3:GetObject",),
                sends_to=(Stage.QUERY_ACTIVITIES, _CHUNKS_START),  # itself: hand-off; wave 0
            ),
        ),
        _stage(
            Stage.QUERY_SHOW_DATA,
            Needs(
                tables={
                    "sessions": _COUNTS_CHUNKS,
                    "viewing": ("UpdateItem",),
                    # the chunk's cache and aliases read in batches, learnt aliases written
                    # in batches (PutItem: one alias, resolve() outside a chunk), shows updated
                    "show_cache": ("BatchGetItem", "BatchWriteItem", "PutItem", "UpdateItem"),
                },
                indexes={("show_cache", BY_IMDB_INDEX): ("Query",)},
                sends_to=(Stage.QUERY_SHOW_DATA, Stage.CRAWL_ROTTEN_TOMATOES),  # itself: hand-off near deadline
            ),
        ),
        _stage(
            Stage.CRAWL_ROTTEN_TOMATOES,
            Needs(
                tables={"sessions": _COUNTS_CHUNKS, "show_cache": ("BatchGetItem", "UpdateItem")},  # chunk read, scores
                sends_to=(Stage.CRAWL_ROTTEN_TOMATOES,),  # hand-off
            ),
        ),
        *(_stage(spec.stage, FOLLOW_UP) for spec in FOLLOW_UPS),
        (
            "progress_tracker",
            Needs(
                tables={"sessions": _SESSION_STAGE, **_REPORT_READER},
                sends_to=(*_FOLLOW_UP_STAGES, _CHUNKS_START),  # the follow-ups; chunk waves
            ),
        ),
        ("dead_letters", Needs(tables={"sessions": _COUNTS_CHUNKS})),
        (
            "watchdog",
            Needs(
                tables={"sessions": (*_SESSION_STAGE, *_PURGES), "viewing": _PURGES, "show_cache": ("BatchGetItem",)},
                indexes={("sessions", ACTIVE_SESSIONS_INDEX): ("Query",)},
                # re-sends stale claims; unsent or due waves
                sends_to=(*_FOLLOW_UP_STAGES, _CHUNKS_START),
            ),
        ),
    ]
)

# The shared slot bucket (tvreport.budget_bucket): reserve and push are conditional
# updates of one item per service, never a read. Granted to the functions that call a
# service with a budget in this deployment (tvreport.upstream_budgets.budgeted_callers),
# so which ones depends on the budgets (`upstream_rate_limits`).
BUDGET_BUCKET: Actions = ("UpdateItem",)

UPLOAD_ROLES = tuple(directory for directory, needs in NEEDS.items() if needs.uploads)
