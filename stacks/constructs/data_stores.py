"""The four DynamoDB tables and the uploads bucket (docs/architecture.md, Tables)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, aws_dynamodb as dynamodb, aws_s3 as s3
from constructs import Construct

from tvreport import schema
from tvreport.schema import ACTIVE_SESSIONS_INDEX, BY_IMDB_INDEX, TTL_ATTRIBUTE

UPLOAD_EXPIRY = Duration.days(1)


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _table(scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy, **keys: object) -> dynamodb.Table:
    """`dynamodb.Table`, not TableV2: TableV2 emits AWS::DynamoDB::GlobalTable,
    which moto's CloudFormation (the local runner) cannot deploy."""
    return dynamodb.Table(
        scope,
        construct_id,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,  # bursty, per-session load
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        time_to_live_attribute=TTL_ATTRIBUTE,
        removal_policy=removal_policy,
        **keys,  # type: ignore[arg-type]
    )


class DataStores(Construct):
    """Sessions, viewing records, the show cache, the upstream budgets' slots and the
    uploads bucket.

    Removal: the sessions and viewing tables hold personal data that expires by
    TTL and is deleted on request, so they go with the stack (DESTROY) rather than
    outliving it unowned. The show cache holds only public show data that took
    many TMDB and Rotten Tomatoes calls to build, so it is kept (RETAIN)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.sessions = _table(
            self,
            "Sessions",
            partition_key=_string(schema.SESSIONS_PK),
            sort_key=_string(schema.SESSIONS_SK),
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,  # the tracker reads both
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Sparse: only sessions that are CRUNCHING_DATA carry `active`, so the
        # watchdog queries the few running sessions instead of scanning. Sharded:
        # `active` = "1#<0..ACTIVE_SHARDS-1>" from a hash of the session id, so no
        # partition key value takes every session. Keyed on `created_at`, which never
        # moves, and keys-only, so a session's own writes (counters, flags) never
        # write the index: a session writes it twice (in, out), whatever its size.
        self.sessions.add_global_secondary_index(
            index_name=ACTIVE_SESSIONS_INDEX,
            partition_key=_string(schema.ACTIVE_ATTRIBUTE),
            sort_key=_string(schema.ACTIVE_SORT),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.viewing = _table(
            self,
            "Viewing",
            partition_key=_string(schema.VIEWING_PK),
            sort_key=_string(schema.VIEWING_SK),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.show_cache = _table(
            self,
            "ShowCache",
            partition_key=_string(schema.SHOW_CACHE_PK),
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Titles reach a show through alias items (`alias#<title key>` -> TMDB id) read
        # by key, so only the IMDB id needs an index.
        self.show_cache.add_global_secondary_index(
            index_name=BY_IMDB_INDEX, partition_key=_string(schema.IMDB_ATTRIBUTE)
        )

        # One item per budgeted service, its next free request slot (tvreport.budget_bucket);
        # nothing in it outlives a few seconds' meaning, so it goes with the stack.
        self.upstream_budgets = _table(
            self,
            "UpstreamBudgets",
            partition_key=_string(schema.UPSTREAM_BUDGETS_PK),
            removal_policy=RemovalPolicy.DESTROY,
        )

        # RETAIN (the default): CloudFormation cannot delete a non-empty bucket and
        # `auto_delete_objects` would add a custom resource; the lifecycle rule
        # empties it within a day, after which it can be deleted by hand.
        self.uploads = s3.Bucket(
            self,
            "Uploads",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(id="expire-uploads", expiration=UPLOAD_EXPIRY)],
        )
