"""The whole system on one machine: moto as AWS, the synthesized pipeline stack
deployed into it, the sandbox outside services, the event-source engine and the
API on loopback. `LocalSystem` starts and stops them together.

    with LocalSystem(SystemOptions(viewer="light")) as system:
        session_id = system.start_session()
        session = system.wait_finished(session_id, timeout_s=600)

Worker processes are started with multiprocessing's spawn method, which re-imports
the main module: a script using LocalSystem needs the `if __name__ == "__main__":`
guard (pytest and `python -m local` have it).
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Self

import httpx

from local.api_gateway import ApiGatewayServer
from local.collector import YoungCollectionsOnly
from local.deploy import DeployedStack, deploy, synthesize
from local.engine import EngineOptions, EventSourceEngine, RecordPredicate
from local.lifecycle import StartStop
from local.moto_aws import MotoAws, start_moto
from local.runner_log import log_to_file, logger
from local.workers import FunctionWorker, WorkerSpec

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FINISHED_STATES = ("COMPLETED", "FAILED")
ProgressCallback = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class ServiceFaults:
    """Fault knobs for one sandbox service (see local/sandbox/faults.py)."""

    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    rate_limit_burst_every: int = 0  # every Nth request answered 429 with Retry-After


@dataclass(frozen=True)
class SystemOptions:
    viewer: str = "typical"  # a sandbox viewer profile: light | typical | heavy
    netflix_csv: Path | None = None  # an export to run instead of a profile
    threshold: int | None = None  # percent; None keeps the stack's default (97)
    chunk_size: int | None = None  # None keeps the stack's default (50)
    faults: Mapping[str, ServiceFaults] = field(default_factory=dict)  # by gandalf|tmdb|rottentomatoes
    duplicate_deliveries: bool = False
    race_duplicates: bool = False  # every batch to two workers at once (EngineOptions)
    # AWS API faults for the functions' calls, by "service:Operation" (see
    # local/aws_faults.py; uniform_faults(rate) is what --aws-faults RATE means).
    aws_faults: Mapping[str, float] = field(default_factory=dict)
    lose_responses: Mapping[str, float] = field(default_factory=dict)  # stage -> rate (EngineOptions)
    seed: int | None = None  # for the AWS fault and lost-response draws
    concurrency: int = 2  # pollers per SQS mapping at most (and API workers)
    run_dir: Path | None = None  # None: a fresh temporary directory, removed on exit
    # The watchdog's "no progress for this long"; the stack requires more than the
    # stage queues' visibility timeout (6 x 300 s), so this is the shortest a local run can use.
    stall_timeout_s: int = 1801
    watchdog_interval_s: float = 10.0  # compressed from the stack's rate(5 minutes)
    # DELETE's second pass, compressed from the stack's 360 s: local stages run for seconds
    purge_delay_s: int = 30
    resend_after_s: int = 3  # the watchdog sweeps every 10 s locally
    retry_delay_s: float = 1.0  # compressed visibility timeout of a failed message
    crash_matching: RecordPredicate | None = None
    openai_api_key: str | None = None  # None: OPENAI_API_KEY from the environment, else rules
    # Per-upstream requests/second for the whole local deployment (the stack's
    # upstream_rate_limits): the sandbox may be crawled faster than the real sites.
    upstream_rate_limits: Mapping[str, float | None] = field(
        default_factory=lambda: {"gandalf": 50, "tmdb": 100, "rottentomatoes": 50}
    )
    extra_context: Mapping[str, Any] = field(default_factory=dict)  # any other CDK context
    catalogue: Any = None  # the sandbox's shows (local.sandbox.Catalogue); None: the bundled one


class LocalSystem(StartStop):
    def __init__(self, options: SystemOptions | None = None) -> None:
        self.options = options or SystemOptions()
        self.run_dir = self.options.run_dir or Path(tempfile.mkdtemp(prefix="tvreport-local-"))
        self._owns_run_dir = self.options.run_dir is None
        self.aws: MotoAws | None = None
        self.sandbox: Any = None
        self.stack: DeployedStack | None = None
        self.engine: EventSourceEngine | None = None
        self.api: ApiGatewayServer | None = None
        self.timings: dict[str, float] = {}
        self._http = httpx.Client(timeout=60)
        self._collector = YoungCollectionsOnly()

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        if self.aws is not None:  # already started (start() then `with system:`)
            return self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from local.sandbox import Faults, Sandbox

        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_to_file(self.run_dir / "logs" / "runner.log")
        with self._timed("moto"):
            self.aws = start_moto(faults=self.options.aws_faults, seed=self.options.seed)
        with self._timed("sandbox"):
            faults = {service: Faults(**vars(knobs)) for service, knobs in self.options.faults.items()}
            self.sandbox = Sandbox(faults_by_service=faults or None, catalogue=self.options.catalogue).start()
        with self._timed("synth"):
            assembly = synthesize(self._build_pipeline, self.run_dir / "cdk.out", context={})
        with self._timed("deploy"):
            import app as cdk_app

            self.stack = deploy(self.aws, assembly, cdk_app.STACK_NAME)
            self._put_secrets()
        base_env = dict(self.aws.worker_env())
        self.engine = EventSourceEngine(
            aws=self.aws,
            stack=self.stack,
            base_env=base_env,
            log_dir=self.run_dir / "logs",
            options=EngineOptions(
                duplicate_deliveries=self.options.duplicate_deliveries,
                race_duplicates=self.options.race_duplicates,
                lose_responses=self.options.lose_responses,
                seed=self.options.seed,
                crash_matching=self.options.crash_matching,
                retry_delay_s=self.options.retry_delay_s,
                concurrency_cap=self.options.concurrency,
                schedule_interval_s=self.options.watchdog_interval_s,
            ),
        )
        self.engine.start()
        if self.stack.api is None:
            raise RuntimeError("the deployed stack has no REST API")
        api_function = self.stack.functions[self.stack.api.function_logical_id]
        workers = [
            FunctionWorker(WorkerSpec.for_function(api_function, base_env, self.run_dir / "logs"))
            for _ in range(max(1, self.options.concurrency))
        ]
        self.api = ApiGatewayServer(self.stack.api, workers, self.aws.account_id).start()
        self._collector.start()
        logger.info("local system started", api_url=self.api.url, timings=self.timings)

    def _build_pipeline(self, app: Any) -> None:
        """The project's own stack with the local overrides as CDK context."""
        import app as cdk_app
        from stacks.config import PipelineConfig
        from stacks.pipeline_stack import PipelineStack

        overrides: dict[str, Any] = {
            "gandalf_url": self.sandbox.gandalf_url,
            "gandalf_connect_url": self.sandbox.connect_url,  # the Connect stand-in page
            "tmdb_url": self.sandbox.tmdb_url,
            "rotten_tomatoes_url": self.sandbox.rotten_tomatoes_url,
            "stall_timeout_seconds": self.options.stall_timeout_s,
            "purge_delay_seconds": self.options.purge_delay_s,
            "resend_after_seconds": self.options.resend_after_s,
            "create_secrets": False,  # moto's CloudFormation cannot create secrets; _put_secrets does
            # The budgets for the whole local deployment, spent by every worker process
            # through the stack's slot bucket on moto, as on AWS.
            "upstream_rate_limits": _json(self.options.upstream_rate_limits),
        }
        if self.options.threshold is not None:
            overrides["threshold_percent"] = self.options.threshold
        if self.options.chunk_size is not None:
            overrides["chunk_size"] = self.options.chunk_size
        overrides.update(self.options.extra_context)
        for key, value in cdk_app.project_context(**overrides).items():
            app.node.set_context(key, value)
        PipelineStack(app, cdk_app.STACK_NAME, config=PipelineConfig.from_context(app.node))

    def _put_secrets(self) -> None:
        """Values for the secrets the stack references by name: a fresh Gandalf key
        pair (its public half is what the Gandalf sandbox verifies with), the TMDB
        sandbox key, and the OpenAI key if there is one (blank: the rule fallback)."""
        assert self.aws is not None and self.stack is not None
        openai_key = self.options.openai_api_key
        if openai_key is None:
            openai_key = os.environ.get("OPENAI_API_KEY", "")
        values = {
            "GandalfPrivateKeySecretName": self.sandbox.gandalf_private_key_hex,
            "TmdbApiKeySecretName": self.sandbox.tmdb_api_key,
            "OpenAiApiKeySecretName": openai_key or " ",  # Secrets Manager refuses empty strings
        }
        client = self.aws.client("secretsmanager")
        for output, value in values.items():
            client.create_secret(Name=self.stack.outputs[output], SecretString=value)

    def stop(self) -> None:
        self._collector.stop()
        for part, stopper in (
            ("api", lambda: self.api and self.api.stop()),  # type: ignore[func-returns-value]
            ("engine", lambda: self.engine and self.engine.stop()),  # type: ignore[func-returns-value]
            ("sandbox", lambda: self.sandbox and self.sandbox.stop()),
            ("moto", lambda: self.aws and self.aws.stop()),  # type: ignore[func-returns-value]
        ):
            try:
                stopper()
            except Exception as error:  # keep stopping the rest
                logger.warning("stop failed", part=part, error=str(error))
        self._http.close()
        if self._owns_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # -- client side -----------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self.api is not None, "start() first"
        return self.api.url

    def info(self) -> dict[str, Any]:
        """Where a person points curl, the AWS CLI or boto3: the API, the embedded
        AWS endpoint, the stack's CloudFormation outputs as moto describes them,
        and the queue URLs by logical id (the stack has no queue outputs)."""
        assert self.aws is not None and self.stack is not None
        (stack,) = self.aws.client("cloudformation").describe_stacks(StackName=self.stack.name)["Stacks"]
        return {
            "apiUrl": self.api_url,
            "awsEndpointUrl": self.aws.url,
            "region": self.aws.region,
            "outputs": {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])},
            "queues": dict(self.stack.queues),
        }

    def start_session(
        self, viewer: str | None = None, netflix_csv: str | None = None, via_gandalf: bool = False,
        activities: list[dict] | None = None,
    ) -> str:
        """Create a session over HTTP like any client.

        With a viewer profile (default: the options'), its history is registered in
        the Gandalf sandbox under a fresh dataKey; so are given Gandalf `activities`.
        With an export's text, the export is uploaded (`netflixCsv`), or with
        `via_gandalf` served by Gandalf instead."""
        from local.sandbox import build_viewer, viewer_from_netflix_csv

        if netflix_csv is None and self.options.netflix_csv is not None and viewer is None:
            netflix_csv = self.options.netflix_csv.read_text(encoding="utf-8-sig")
        if netflix_csv is not None and not via_gandalf:
            body: dict[str, str] = self._export_body(netflix_csv)
        else:
            data_key = secrets.token_urlsafe(24)
            if netflix_csv is not None:
                activities = viewer_from_netflix_csv(netflix_csv, self.sandbox.catalogue)
            elif activities is None:
                activities = build_viewer(viewer or self.options.viewer, date.today(), self.sandbox.catalogue)
            self.sandbox.register_viewer(data_key, activities)
            body = {"dataKey": data_key, "clientToken": secrets.token_hex(16)}
        response = self._post_session(body)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST /sessions answered {response.status_code}: {response.text[:500]}")
        return str(response.json()["sessionId"])

    def _export_body(self, netflix_csv: str) -> dict[str, str]:
        """Inline when it fits the API's byte limit, else a presigned upload (POST /uploads)."""
        from tvreport.api_models import MAX_INLINE_BODY_BYTES

        data = netflix_csv.encode("utf-8")
        if len(data) < MAX_INLINE_BODY_BYTES - 1_000_000:  # JSON escaping adds a little
            return {"netflixCsv": netflix_csv}
        return {"uploadId": self.upload_export(data)}

    def upload_export(self, data: bytes) -> str:
        """Upload an export by the presigned POST the API hands out; its uploadId."""
        ticket = self._http.post(f"{self.api_url}/uploads").raise_for_status().json()
        files = {"file": ("NetflixViewingHistory.csv", data, "text/csv")}
        self._http.post(ticket["url"], data=ticket["fields"], files=files).raise_for_status()
        return str(ticket["uploadId"])

    def _post_session(self, body: Mapping[str, str], attempts: int = 4) -> httpx.Response:
        """POST /sessions as a careful client does: a 5xx or 429 is retried with
        the same body (the clientToken makes the retry idempotent); an upload
        without a token is sent once."""
        for attempt in range(attempts):
            response = self._http.post(f"{self.api_url}/sessions", json=body)
            retryable = response.status_code >= 500 or response.status_code == 429
            if not retryable or "clientToken" not in body or attempt == attempts - 1:
                return response
            logger.warning("POST /sessions retried", status=response.status_code, attempt=attempt + 1)
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def get_session(self, session_id: str) -> dict[str, Any]:
        response = self._http.get(f"{self.api_url}/sessions/{session_id}")
        response.raise_for_status()
        return response.json()

    def get_report(self, session_id: str) -> dict[str, Any] | None:
        response = self._http.get(f"{self.api_url}/sessions/{session_id}/report")
        if response.status_code != 200:
            return None
        return response.json()

    def wait_finished(
        self, session_id: str, timeout_s: float = 600, on_progress: ProgressCallback | None = None, poll_s: float = 0.5
    ) -> dict[str, Any]:
        """The session document once COMPLETED or FAILED; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                session = self.get_session(session_id)
            except httpx.HTTPStatusError as error:  # a 5xx from injected AWS faults: poll again
                if error.response.status_code < 500 or time.monotonic() > deadline:
                    raise
                time.sleep(poll_s)
                continue
            if on_progress is not None:
                on_progress(session)
            if session.get("state") in FINISHED_STATES:
                return session
            if time.monotonic() > deadline:
                raise TimeoutError(f"session {session_id} still {session.get('state')} after {timeout_s:.0f} s")
            time.sleep(poll_s)

    # -- figures ---------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Engine counters, sandbox request/fault counters and moto-side counts."""
        assert self.aws is not None and self.stack is not None and self.engine is not None
        sqs = self.aws.client("sqs")
        queues = {}
        for logical_id, url in self.stack.queues.items():
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            queues[logical_id] = {
                "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
                "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            }
        dynamodb = self.aws.client("dynamodb")
        tables = {
            logical_id: dynamodb.describe_table(TableName=name)["Table"].get("ItemCount", 0)
            for logical_id, name in self.stack.tables.items()
        }
        return {
            "engine": self.engine.stats(),
            "engine_totals": self.engine.totals(),
            "sandbox": self.sandbox.stats(),
            "api_requests": self.api.requests if self.api else 0,
            "aws": self.aws.hostile.stats(),
            "moto": {"queues": queues, "table_items": tables},
            "timings_s": dict(self.timings),
        }

    def _timed(self, name: str) -> _Timer:
        return _Timer(self.timings, name)


class _Timer:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.started = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = round(time.monotonic() - self.started, 2)


# The stages that call an outside service (their pollers share its budget).
def _json(value: Any) -> str:
    import json

    return json.dumps(value)
