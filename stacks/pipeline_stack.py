"""The pipeline stack: composes the constructs and wires who may talk to whom.

Every permission is a `grant_*` on the object concerned or an exact action list
(stacks.needs: one entry per function, applied in one loop; one role per function),
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
from stacks.needs import BUDGET_BUCKET, NEEDS
from tvreport import env_keys
from tvreport.schema import (
    STAGES,
    UPLOADS_INCOMING_PREFIX,
    UPLOADS_PREFIX,
)
from tvreport.upstream_budgets import budgeted_callers

# dead_letters is never throttled by an upstream; two concurrent pollers (the SQS
# minimum) keep its conditional writes from contending on one session item.
DEAD_LETTERS_MAX_CONCURRENCY = 2

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
        self._wire()
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

    def _wire(self) -> None:
        """Apply each function's needs (stacks.needs): table, index and upload grants,
        the stage queues it sends to, the outside service it calls."""
        tables = {"sessions": self.stores.sessions, "viewing": self.stores.viewing,
                  "show_cache": self.stores.show_cache}
        uploads = self.stores.uploads
        if set(NEEDS) != set(self.functions):  # a function without an entry would be given nothing
            raise ValueError(f"stacks.needs and the functions differ: {sorted(set(NEEDS) ^ set(self.functions))}")
        for directory, needs in NEEDS.items():
            function = self.functions[directory]
            for table_role, actions in needs.tables.items():
                _allow(function, actions, [tables[table_role].table_arn])
            for (table_role, index), actions in needs.indexes.items():
                _allow(function, actions, [f"{tables[table_role].table_arn}/index/{index}"])
            if needs.uploads:  # objects under uploads/ only: no listing, no bucket actions
                _allow(function, needs.uploads, [uploads.arn_for_objects(f"{UPLOADS_PREFIX}*")])
                function.add_environment(env_keys.UPLOADS_BUCKET, uploads.bucket_name)
            for stage in needs.sends_to:  # the only sqs:SendMessage grants
                target = STAGES[stage]
                _send_to(function, target.queue_url_key, self.workers[target.folder].queue)
            if needs.upstream is not None:
                self._wire_upstream(function, needs.upstream)
        # POST /sessions {uploadId}: check and copy an upload, never another session's export
        _allow(self.functions["api"], ("s3:GetObject",), [uploads.arn_for_objects(f"{UPLOADS_INCOMING_PREFIX}*")])
        # The API derives the app's public key for Connect URLs from the Gandalf secret.
        _add_environment(
            self.functions["api"],
            {
                env_keys.GANDALF_CONNECT_URL: self.config.gandalf_connect_url,
                env_keys.GANDALF_PRIVATE_KEY_SECRET: self.secrets["gandalf"].secret_name,
            },
        )
        self.secrets["gandalf"].grant_read(self.functions["api"])
        self._wire_upstream_budgets()

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

    def _wire_upstream(self, function: lambda_.Function, upstream: str) -> None:
        """An outside service's URL and its secret (by name, with a read grant)."""
        config, secrets = self.config, self.secrets
        secret_key = {
            "gandalf": env_keys.GANDALF_PRIVATE_KEY_SECRET,
            "tmdb": env_keys.TMDB_API_KEY_SECRET,
            "openai": env_keys.OPENAI_API_KEY_SECRET,
        }.get(upstream)
        variables = {
            "gandalf": {env_keys.GANDALF_URL: config.gandalf_url},
            "tmdb": {env_keys.TMDB_URL: config.tmdb_url},
            "rottentomatoes": {env_keys.ROTTEN_TOMATOES_URL: config.rotten_tomatoes_url},
            "openai": {env_keys.OPENAI_MODEL: config.openai_model, env_keys.OPENAI_BASE_URL: config.openai_base_url},
        }[upstream]
        if secret_key is not None:
            variables[secret_key] = secrets[upstream].secret_name
            secrets[upstream].grant_read(function)
        _add_environment(function, variables)

    def _wire_upstream_budgets(self) -> None:
        """Every function that calls a budgeted service gets the deployment's budgets of
        its services and the slot bucket they are spent through (one item per service,
        shared by every process), with the bucket's one action."""
        bucket = self.stores.upstream_budgets
        for directory, budgets in budgeted_callers(json.loads(self.config.upstream_rate_limits or "{}")).items():
            function = self.functions[directory]
            _allow(function, BUDGET_BUCKET, [bucket.table_arn])
            _add_environment(function, {env_keys.UPSTREAM_RATE_LIMITS: json.dumps(budgets, sort_keys=True),
                                        env_keys.UPSTREAM_BUDGETS_TABLE: bucket.table_name})

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
        CfnOutput(self, "UpstreamBudgetsTableName", value=stores.upstream_budgets.table_name)
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

