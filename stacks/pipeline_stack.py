"""The pipeline stack: composes the constructs and wires who may talk to whom.

Every permission is a `grant_*` on the object concerned or an exact action list
(TABLE_ACTIONS, INDEX_ACTIONS, UPLOAD_ACTIONS; one role per function),
and every name a function needs reaches it as an environment variable holding the
resource's attribute (a CloudFormation token), spelled by `tvreport.env_keys`.
Stages are named by the stage registry (`tvreport.schema`): every follow-up stage
there gets its queue, grants, senders and dead-letter source here without an edit.
"""

from __future__ import annotations

import json

from aws_cdk import (
    CfnOutput,
    Duration,
    Stack,
    aws_events as events,
    aws_events_targets as targets,
    aws_iam as iam,
    aws_lambda as lambda_,
    aws_lambda_event_sources as event_sources,
    aws_logs as logs,
    aws_secretsmanager as secretsmanager,
    aws_sqs as sqs,
)
from constructs import Construct

from stacks.config import PipelineConfig
from stacks.constructs import ApiEdge, DataStores, PipelineApi, PipelineFunction, QueueWorker, StreamConsumer
from stacks.constructs.monitoring import Monitoring, StageQueues
from stacks.layers import PipelineLayers
from stacks.nag import acknowledge_findings
from tvreport import env_keys
from tvreport.schema import (
    ACTIVE_SESSIONS_INDEX,
    BY_IMDB_INDEX,
    FOLLOW_UPS,
    STAGES,
    UPLOADS_INCOMING_PREFIX,
    UPLOADS_PREFIX,
    Stage,
    StageSpec,
)
from tvreport.upstream_budgets import per_process_shares

# dead_letters is never throttled by an upstream; two concurrent pollers (the SQS
# minimum) keep its conditional writes from contending on one session item.
DEAD_LETTERS_MAX_CONCURRENCY = 2

# Exact DynamoDB actions per function and table, read from the calls each function's
# code makes (tvreport/repositories): TransactWriteItems is authorized per item
# (Put -> PutItem, Update -> UpdateItem, ConditionCheck -> ConditionCheckItem),
# boto3's batch_writer is BatchWriteItem. No function may Scan; only the api (DELETE)
# and the watchdog (its delayed purge sweep) may delete session data.
_SESSION_STAGE = ("GetItem", "UpdateItem", "ConditionCheckItem")  # check, advance, end a session
_COUNTS_CHUNKS = (*_SESSION_STAGE, "PutItem")  # + the chunk ledger item
_PURGES = ("Query", "DeleteItem", "BatchWriteItem")  # every item of one session, by key
_REPORT_READER = {"viewing": ("Query",), "show_cache": ("BatchGetItem",)}
_ACTIVITIES, _SHOW_DATA, _CRAWL = (
    STAGES[stage].folder for stage in (Stage.QUERY_ACTIVITIES, Stage.QUERY_SHOW_DATA, Stage.CRAWL_ROTTEN_TOMATOES)
)
TABLE_ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "api": {"sessions": (*_COUNTS_CHUNKS, *_PURGES), "viewing": _PURGES},  # PutItem: create
    # query_activities: viewing records and raw pages
    _ACTIVITIES: {"sessions": _SESSION_STAGE, "viewing": ("Query", "PutItem", "UpdateItem")},
    _SHOW_DATA: {
        "sessions": _COUNTS_CHUNKS,
        "viewing": ("UpdateItem",),
        "show_cache": ("GetItem", "PutItem", "UpdateItem"),
    },
    _CRAWL: {"sessions": _COUNTS_CHUNKS, "show_cache": ("GetItem", "UpdateItem")},
    # every follow-up stage: reads the report's inputs, stores its result once
    **{spec.folder: {"sessions": _SESSION_STAGE, **_REPORT_READER} for spec in FOLLOW_UPS},
    "progress_tracker": {"sessions": _SESSION_STAGE, **_REPORT_READER},
    "dead_letters": {"sessions": _COUNTS_CHUNKS},
    "watchdog": {
        "sessions": (*_SESSION_STAGE, *_PURGES),
        "viewing": _PURGES,
        "show_cache": ("BatchGetItem",),
    },
}
# Queries of a secondary index, granted on that index alone (not `index/*`).
INDEX_ACTIONS: dict[str, dict[tuple[str, str], tuple[str, ...]]] = {
    "watchdog": {("sessions", ACTIVE_SESSIONS_INDEX): ("Query",)},
    _SHOW_DATA: {("show_cache", BY_IMDB_INDEX): ("Query",)},
}
# Object actions on `uploads/*` of the uploads bucket (no listing, no bucket actions).
UPLOAD_ACTIONS: dict[str, tuple[str, ...]] = {
    "api": ("s3:PutObject", "s3:DeleteObject"),  # POST stores the export; DELETE removes it
    _ACTIVITIES: ("s3:GetObject",),
}
# Who sends to which stage queue (besides the follow-up stages, which the tracker
# sends and the watchdog re-sends): the only sqs:SendMessage grants.
SENDS: tuple[tuple[str, Stage], ...] = (
    ("api", Stage.QUERY_ACTIVITIES),
    (_ACTIVITIES, Stage.QUERY_ACTIVITIES),  # hand-off
    (_ACTIVITIES, Stage.QUERY_SHOW_DATA),
    (_SHOW_DATA, Stage.QUERY_SHOW_DATA),  # hand-off near deadline
    (_SHOW_DATA, Stage.CRAWL_ROTTEN_TOMATOES),
    (_CRAWL, Stage.CRAWL_ROTTEN_TOMATOES),  # hand-off
    ("progress_tracker", Stage.QUERY_SHOW_DATA),  # chunk waves
    ("watchdog", Stage.QUERY_SHOW_DATA),  # unsent or due waves
    *((sender, spec.stage) for spec in FOLLOW_UPS for sender in ("progress_tracker", "watchdog")),
)

# (key, construct id, name suffix, description) of each outside-service credential.
SECRETS = (
    ("gandalf", "GandalfPrivateKey", "gandalf-private-key", "Gandalf app private key (secp256k1, hex)"),
    ("tmdb", "TmdbApiKey", "tmdb-api-key", "TMDB API key or read access token"),
    ("openai", "OpenAiApiKey", "openai-api-key", "OpenAI API key"),
)


class PipelineStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.layers = PipelineLayers(self)
        self.log_retention = getattr(logs.RetentionDays, config.log_retention)
        self.stores = DataStores(self, "Data")
        self.common_env = self._common_environment()

        self.workers = {
            spec.directory: QueueWorker(
                self,
                _construct_id(spec.directory),
                spec=spec,
                layers=self.layers.for_function(spec.directory),
                environment=self.common_env,
                log_retention=self.log_retention,
                dead_letter_consumer_timeout=Duration.seconds(config.functions["dead_letters"].timeout_seconds),
            )
            for spec in config.queue_stages
        }
        self.functions: dict[str, lambda_.Function] = {
            directory: worker.function for directory, worker in self.workers.items()
        }
        for directory in config.functions:
            self.functions[directory] = self._standalone_function(directory)

        self.secrets = self._secrets()
        self._grant_data_access()
        self._wire_queues()
        self._wire_outside_services()
        self.stream = StreamConsumer(
            self,
            "ProgressTrackerStream",
            table=self.stores.sessions,
            function=self.functions["progress_tracker"],
            batch_size=config.stream_batch_size,
            retry_attempts=config.stream_retry_attempts,
            max_record_age=Duration.hours(config.stream_max_record_age_hours),
        )
        self._wire_dead_letters()
        self._schedule_watchdog()
        self.api = PipelineApi(
            self,
            "PublicApi",
            handler=self.functions["api"],
            rate_limit=config.api_rate_limit,
            burst_limit=config.api_burst_limit,
            log_retention=self.log_retention,
            edge=ApiEdge(config.allowed_origins, config.api_clients, config.api_key_rate_limit,
                         config.api_key_burst_limit, config.api_key_quota_per_day),
        )
        self.functions["api"].add_environment(env_keys.API_ALLOWED_ORIGINS, ",".join(config.allowed_origins))
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            functions=self.functions,
            stages=[StageQueues(d, w.queue, w.dead_letter_queue) for d, w in self.workers.items()],
            stream_failure_queue=self.stream.failure_queue,
            stream_consumer="progress_tracker",
            alarm_email=config.alarm_email,
            queue_age_alarm_seconds=config.queue_age_alarm_seconds,
            stream_iterator_age_alarm_seconds=config.stream_iterator_age_alarm_seconds,
            failed_sessions_alarm_per_hour=config.failed_sessions_alarm_per_hour,
        )
        acknowledge_findings(self)
        self._outputs()

    # -- functions -----------------------------------------------------------

    def _common_environment(self) -> dict[str, str]:
        config, stores = self.config, self.stores
        return {
            env_keys.SESSIONS_TABLE: stores.sessions.table_name,
            env_keys.VIEWING_TABLE: stores.viewing.table_name,
            env_keys.SHOW_CACHE_TABLE: stores.show_cache.table_name,
            env_keys.PROGRESS_THRESHOLD: str(config.threshold_percent),
            env_keys.CHUNK_SIZE: str(config.chunk_size),
            env_keys.CHUNK_WAVE_SIZE: str(config.chunk_wave_size),
            env_keys.MAX_SHOWS_PER_SESSION: str(config.max_shows_per_session),
            env_keys.SESSION_TTL_DAYS: str(config.session_ttl_days),
            env_keys.STALL_TIMEOUT_SECONDS: str(config.stall_timeout_seconds),
            env_keys.PURGE_DELAY_SECONDS: str(config.purge_delay_seconds),
            env_keys.RESEND_AFTER_SECONDS: str(config.resend_after_seconds),
            env_keys.SHOW_CACHE_MAX_AGE_DAYS: str(config.show_cache_max_age_days),
        }

    def _standalone_function(self, directory: str) -> lambda_.Function:
        spec = self.config.functions[directory]
        return PipelineFunction(
            self,
            _construct_id(directory),
            directory=directory,
            timeout_seconds=spec.timeout_seconds,
            memory_mb=spec.memory_mb,
            layers=self.layers.for_function(directory),
            environment=self.common_env,
            log_retention=self.log_retention,
        ).function

    # -- permissions and wiring ---------------------------------------------

    def _grant_data_access(self) -> None:
        """Exact table, index and bucket actions per function (TABLE_ACTIONS)."""
        fn, stores = self.functions, self.stores
        tables = {"sessions": stores.sessions, "viewing": stores.viewing, "show_cache": stores.show_cache}
        for directory, per_table in TABLE_ACTIONS.items():
            for table_role, actions in per_table.items():
                _allow(fn[directory], actions, [tables[table_role].table_arn])
        for directory, per_index in INDEX_ACTIONS.items():
            for (table_role, index), actions in per_index.items():
                _allow(fn[directory], actions, [f"{tables[table_role].table_arn}/index/{index}"])
        uploads = stores.uploads.arn_for_objects(f"{UPLOADS_PREFIX}*")
        for directory, actions in UPLOAD_ACTIONS.items():
            _allow(fn[directory], actions, [uploads])
        # POST /sessions {uploadId}: check and copy an upload, never another session's export
        _allow(fn["api"], ("s3:GetObject",), [stores.uploads.arn_for_objects(f"{UPLOADS_INCOMING_PREFIX}*")])
        for directory in UPLOAD_ACTIONS:
            fn[directory].add_environment(env_keys.UPLOADS_BUCKET, stores.uploads.bucket_name)

    def _wire_queues(self) -> None:
        """SENDS: the queue's URL under the stage's key, and a send grant on it."""
        for sender, stage in SENDS:
            target = STAGES[stage]
            _send_to(self.functions[sender], target.queue_url_key, self.workers[target.folder].queue)

    def _secrets(self) -> dict[str, secretsmanager.ISecret]:
        """One secret per outside credential, named `<stack>/<credential>`.

        By default the stack creates them with a generated placeholder; set the real
        value after deploy (the command is in each output's description). With
        context `create_secrets=false` it references secrets of those names that
        already exist: moto's CloudFormation (the local runner) cannot create
        AWS::SecretsManager::Secret, and some teams manage secrets elsewhere."""
        return {
            key: self._secret(construct_id, f"{self.stack_name}/{suffix}", description)
            for key, construct_id, suffix, description in SECRETS
        }

    def _secret(self, construct_id: str, name: str, description: str) -> secretsmanager.ISecret:
        if not self.config.create_secrets:
            return secretsmanager.Secret.from_secret_name_v2(self, construct_id, name)
        return secretsmanager.Secret(
            self,
            construct_id,
            secret_name=name,
            description=f"{description}. Placeholder until set with put-secret-value.",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=32),
        )

    def _wire_outside_services(self) -> None:
        """Outside-service URLs and secrets (by name, read grant): each stage gets its
        registry upstream's (tvreport.schema); the API its Connect settings."""
        fn, config, secrets = self.functions, self.config, self.secrets
        for spec in STAGES.values():
            if spec.upstream is not None:
                self._wire_upstream(spec)
        # The API derives the app's public key for Connect URLs from the same secret.
        _add_environment(
            fn["api"],
            {
                env_keys.GANDALF_CONNECT_URL: config.gandalf_connect_url,
                env_keys.GANDALF_PRIVATE_KEY_SECRET: secrets["gandalf"].secret_name,
            },
        )
        secrets["gandalf"].grant_read(fn["api"])
        self._wire_upstream_budgets()

    def _wire_upstream(self, spec: StageSpec) -> None:
        config, secrets, function = self.config, self.secrets, self.functions[spec.folder]
        secret_key = {
            "gandalf": env_keys.GANDALF_PRIVATE_KEY_SECRET,
            "tmdb": env_keys.TMDB_API_KEY_SECRET,
            "openai": env_keys.OPENAI_API_KEY_SECRET,
        }.get(str(spec.upstream))
        variables = {
            "gandalf": {env_keys.GANDALF_URL: config.gandalf_url},
            "tmdb": {env_keys.TMDB_URL: config.tmdb_url},
            "rottentomatoes": {env_keys.ROTTEN_TOMATOES_URL: config.rotten_tomatoes_url},
            "openai": {env_keys.OPENAI_MODEL: config.openai_model, env_keys.OPENAI_BASE_URL: config.openai_base_url},
        }[str(spec.upstream)]
        if secret_key is not None:
            variables[secret_key] = secrets[str(spec.upstream)].secret_name
            secrets[str(spec.upstream)].grant_read(function)
        _add_environment(function, variables)

    def _wire_upstream_budgets(self) -> None:
        """Each calling function's per-process share of every service's budget (the
        budget over its callers' maximum concurrency), so the budget holds for the
        whole deployment with no shared state."""
        budgets = json.loads(self.config.upstream_rate_limits or "{}")
        concurrency = {spec.directory: spec.max_concurrency for spec in self.config.queue_stages}
        for directory, shares in per_process_shares(budgets, concurrency).items():
            self.functions[directory].add_environment(env_keys.UPSTREAM_RATE_LIMITS,
                                                      json.dumps(shares, sort_keys=True))

    def _wire_dead_letters(self) -> None:
        """Every stage DLQ feeds dead_letters, which marks the chunk failed so the
        session can still finish; it tells the stages apart by the record's
        eventSourceARN, looked up in DEAD_LETTER_SOURCES."""
        dead_letters = self.functions["dead_letters"]
        sources = {}
        for worker in self.workers.values():
            sources[worker.dead_letter_queue.queue_arn] = worker.spec.stage_name
            dead_letters.add_event_source(
                event_sources.SqsEventSource(
                    worker.dead_letter_queue,
                    batch_size=self.config.dead_letters_batch_size,
                    max_concurrency=DEAD_LETTERS_MAX_CONCURRENCY,
                    report_batch_item_failures=True,
                )
            )
        dead_letters.add_environment(env_keys.DEAD_LETTER_SOURCES, self.to_json_string(sources))

    def _schedule_watchdog(self) -> None:
        events.Rule(
            self,
            "WatchdogSchedule",
            description="Ends sessions that made no progress for STALL_TIMEOUT_SECONDS",
            schedule=events.Schedule.rate(Duration.minutes(self.config.watchdog_rate_minutes)),
            targets=[targets.LambdaFunction(self.functions["watchdog"], retry_attempts=2)],
        )

    # -- outputs -------------------------------------------------------------

    def _outputs(self) -> None:
        stores = self.stores
        # Replaces RestApi's own output (logical id with a hash) by a stable name.
        self.api.rest_api.node.try_remove_child("Endpoint")
        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url, description="Base URL of the REST API")
        CfnOutput(self, "SessionsTableName", value=stores.sessions.table_name)
        CfnOutput(self, "ViewingTableName", value=stores.viewing.table_name)
        CfnOutput(self, "ShowCacheTableName", value=stores.show_cache.table_name)
        CfnOutput(self, "UploadsBucketName", value=stores.uploads.bucket_name)
        # What `python -m ops` reads: each stage's queue and DLQ, and how the
        # history was split (to rebuild a dead-lettered chunk's message).
        for directory, worker in self.workers.items():
            stem = _construct_id(directory)
            CfnOutput(self, f"{stem}QueueUrl", value=worker.queue.queue_url)
            CfnOutput(self, f"{stem}DeadLetterQueueUrl", value=worker.dead_letter_queue.queue_url)
        CfnOutput(self, "ChunkSize", value=str(self.config.chunk_size))
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.monitoring.topic.topic_arn,
            description="Every alarm publishes here; subscribe with -c alarm_email=... or aws sns subscribe",
        )
        for key, construct_id, _, _ in SECRETS:
            CfnOutput(
                self,
                f"{construct_id}SecretName",
                value=self.secrets[key].secret_name,
                description=(
                    "Set the real value after deploy: aws secretsmanager put-secret-value "
                    "--secret-id <this name> --secret-string <value>"
                ),
            )


def _construct_id(directory: str) -> str:
    """`query_show_data` -> `QueryShowData` (stable logical-id stems)."""
    return "".join(part.capitalize() for part in directory.split("_"))


def _allow(function: lambda_.Function, actions: tuple[str, ...], resources: list[str]) -> None:
    """One Allow statement; DynamoDB actions are given without their `dynamodb:` prefix."""
    qualified = [action if ":" in action else f"dynamodb:{action}" for action in actions]
    function.add_to_role_policy(iam.PolicyStatement(actions=sorted(set(qualified)), resources=resources))


def _send_to(function: lambda_.Function, env_key: str, queue: sqs.IQueue) -> None:
    function.add_environment(env_key, queue.queue_url)
    queue.grant_send_messages(function)


def _add_environment(function: lambda_.Function, variables: dict[str, str]) -> None:
    for key, value in variables.items():
        function.add_environment(key, value)

