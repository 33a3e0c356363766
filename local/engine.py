"""An event-source engine: what Lambda's pollers do, for the mappings in moto.

- SQS mappings: `min(MaximumConcurrency, concurrency_cap)` pollers per queue, each
  with its own worker process, taking their batches from one `FairReceiver` per
  queue: the session (MessageGroupId) with the fewest messages being processed
  first, as SQS fair queues do (local/fair_queue.py). Acknowledged messages are
  deleted; failed ones get their visibility shortened to `retry_delay_s` (local
  time compression of the queue's visibility timeout, which is 6x the function
  timeout in the stack), so moto's redrive moves a poison message to the DLQ
  after maxReceiveCount receives within seconds rather than half an hour.
- DynamoDB stream mappings: one poller per shard, batches in order, retries per
  the mapping (bisect on error, MaximumRetryAttempts, then a failure record to
  the on-failure destination), ReportBatchItemFailures resumes from the first
  failed sequence number.
- EventBridge schedules: the target is invoked every `schedule_interval_s`.

Fault knobs:
- `duplicate_deliveries` invokes every batch twice (the second after the first
  completes) to prove idempotency; the worse outcome wins.
- `race_duplicates` gives every poller a second worker process and delivers each
  batch to both at the same moment (a barrier releases the two sends together).
  Each copy is an independent delivery, as two receives of one message are on
  Lambda: an SQS message is deleted if either copy acknowledges it (a delete by
  any receipt handle removes it), and retried only if both failed it; a stream
  batch advances only past what both copies processed (the shard's retry
  re-delivers the rest to both, at least once).
- `lose_responses` (stage or function -> rate): the handler runs fully, its
  writes happen, then its response is lost, so the batch is not acknowledged
  (SQS: visibility shortened as for a failure; stream: the batch is retried).
  `lose_matching` does it for every batch holding a matching record (tests).
- `crash_matching` makes every invocation holding a matching record fail like a
  crashed runtime, without the handler seeing it.
"""
from __future__ import annotations

import base64
import json
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.deploy import DeployedFunction, DeployedMapping, DeployedSchedule, DeployedStack
from local.fair_queue import DEFAULT_WINDOW, SQS_MAX_BATCH, FairReceiver
from local.moto_aws import MotoAws
from local.runner_log import logger
from local.workers import FunctionWorker, InvocationResult, WorkerSpec

RecordPredicate = Callable[[Mapping[str, Any]], bool]
_STREAM_READ_LIMIT = 1000  # records read per poll (GetRecords' maximum)
_STREAM_REWIND = 50  # sequence numbers re-read before the last delivered one (see _fetch_undelivered)
_STREAM_REMEMBERED_IDS = 100_000


@dataclass(frozen=True)
class EngineOptions:
    duplicate_deliveries: bool = False
    crash_matching: RecordPredicate | None = None
    retry_delay_s: float = 1.0
    concurrency_cap: int = 2  # pollers (worker processes) per SQS mapping at most
    poll_wait_s: int = 1  # SQS long-poll wait
    fair_window: int = DEFAULT_WINDOW  # messages a mapping's pollers hold to order them fairly (fair_queue)
    stream_poll_interval_s: float = 0.25  # Lambda polls a shard about 4 times a second
    schedule_interval_s: float | None = 10.0  # None: schedules are not run
    race_duplicates: bool = False  # every batch to two workers at the same moment
    # Stage (lambdas/ directory, e.g. "query_show_data"), function name or logical
    # id, or "*" -> share of successful invocations whose response is lost.
    lose_responses: Mapping[str, float] = field(default_factory=dict)
    lose_matching: RecordPredicate | None = None  # lose every response to a batch holding a matching record
    seed: int | None = None  # for the lost-response draws


@dataclass
class MappingCounters:
    invocations: int = 0
    failures: int = 0  # invocations that raised, timed out or crashed
    timeouts: int = 0
    injected_crashes: int = 0
    duplicate_invocations: int = 0
    race_invocations: int = 0  # the second, concurrent copies of race_duplicates
    lost_responses: int = 0  # handler finished, response dropped (not acknowledged)
    records: int = 0  # records delivered (first deliveries only)
    partial_failures: int = 0  # records listed in batchItemFailures
    messages_deleted: int = 0
    messages_retried: int = 0  # visibility shortened for a retry
    on_failure_records: int = 0  # stream batches sent to the on-failure destination


class _Poller(threading.Thread):
    """Base: a thread owning one worker process and the counters of its mapping."""

    def __init__(self, engine: EventSourceEngine, label: str, function: DeployedFunction) -> None:
        super().__init__(name=f"poller:{label}", daemon=True)
        self.engine = engine
        self.label = label
        self.function = function
        self.worker = engine.new_worker(function)
        self.twin: FunctionWorker | None = None  # the racing copy's worker (race_duplicates)
        self.busy = False
        self.drained = False  # the last poll found nothing

    @property
    def counters(self) -> MappingCounters:
        return self.engine.counters[self.label]

    def enable_race(self) -> None:
        self.twin = self.engine.new_worker(self.function)

    def invoke(self, event: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> list[InvocationResult]:
        """The results of one delivery's concurrent copies (two with race_duplicates;
        the caller decides what their outcomes mean). With duplicate_deliveries the
        first copy is delivered once more afterwards, and the worse outcome wins."""
        if self.twin is not None:
            copies = self._race(event, records, self.twin)
        else:
            copies = [self._invoke_once(self.worker, event, records)]
        if self.engine.options.duplicate_deliveries:
            second = self._invoke_once(self.worker, event, records)
            self.engine.count(self.label, duplicate_invocations=1)
            copies[0] = _worse(copies[0], second)
        return copies

    def _race(
        self, event: Mapping[str, Any], records: Sequence[Mapping[str, Any]], twin: FunctionWorker
    ) -> list[InvocationResult]:
        """Both workers warm, then both sends released by one barrier."""
        workers = (self.worker, twin)
        warmers = [threading.Thread(target=worker.warm, daemon=True) for worker in workers]
        for thread in warmers:
            thread.start()
        for thread in warmers:
            thread.join()
        barrier = threading.Barrier(len(workers))
        results: list[InvocationResult | None] = [None, None]

        def run(index: int) -> None:
            barrier.wait()
            results[index] = self._invoke_once(workers[index], event, records)

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(workers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.engine.count(self.label, race_invocations=1)
        return [result for result in results if result is not None]

    def _invoke_once(
        self, worker: FunctionWorker, event: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
    ) -> InvocationResult:
        predicate = self.engine.options.crash_matching
        if predicate is not None and any(predicate(record) for record in records):
            self.engine.count(self.label, invocations=1, failures=1, injected_crashes=1)
            return InvocationResult(
                str(uuid.uuid4()), ok=False, error_type="Runtime.ExitError", error_message="injected crash"
            )
        result = worker.invoke(event)
        self.engine.record_invocation(self.label, self.function, result)
        self.engine.count(
            self.label, invocations=1, failures=0 if result.ok else 1, timeouts=1 if result.timed_out else 0
        )
        if result.ok and self.engine.draw_lost_response(self.function, records):
            self.engine.count(self.label, lost_responses=1)
            logger.info("response lost (injected)", mapping=self.label, request_id=result.request_id)
            return InvocationResult(
                result.request_id,
                ok=False,
                error_type="Runtime.ResponseLost",
                error_message="injected: the handler finished but its response was lost",
                duration_ms=result.duration_ms,
            )
        if not result.ok:
            logger.warning(
                "invocation failed",
                mapping=self.label,
                request_id=result.request_id,
                error_type=result.error_type,
                error_message=result.error_message,
            )
        return result

    def idle(self) -> bool:
        return not self.busy and self.drained


class SqsPoller(_Poller):
    def __init__(
        self,
        engine: EventSourceEngine,
        label: str,
        mapping: DeployedMapping,
        function: DeployedFunction,
        receiver: FairReceiver,
    ) -> None:
        super().__init__(engine, label, function)
        self.mapping = mapping
        self.receiver = receiver  # shared by the mapping's pollers: the fair order (local/fair_queue.py)
        self.sqs = engine.aws.client("sqs")

    def run(self) -> None:
        while not self.engine.stopping.is_set():
            try:
                messages = self.receiver.take()
            except (BotoCoreError, ClientError) as error:
                if not self.engine.stopping.is_set():
                    logger.warning("receive failed", mapping=self.label, error=str(error))
                    self.engine.stopping.wait(1)
                continue
            if not messages:
                self.drained = True
                continue
            self.busy, self.drained = True, False
            try:
                self._deliver(messages)
            finally:
                self.receiver.finished(messages)
                self.busy = False

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        records = [self._record(message) for message in messages]
        self.engine.count(self.label, records=len(records))
        copies = self.invoke({"Records": records}, records)
        # A message is retried only if every copy failed it: a copy that
        # acknowledges deletes it, whatever the other copy did.
        failed = set.intersection(*(self._failed_message_ids(result, records) for result in copies))
        by_id = {record["messageId"]: record["receiptHandle"] for record in records}
        done = [handle for message_id, handle in by_id.items() if message_id not in failed]
        retry = [handle for message_id, handle in by_id.items() if message_id in failed]
        for start in range(0, len(done), SQS_MAX_BATCH):
            self.sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(done[start : start + SQS_MAX_BATCH])
                ],
            )
        for start in range(0, len(retry), SQS_MAX_BATCH):
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": h,
                     "VisibilityTimeout": math.ceil(self.engine.options.retry_delay_s)}
                    for i, h in enumerate(retry[start : start + SQS_MAX_BATCH])
                ],
            )
        self.engine.count(self.label, messages_deleted=len(done), messages_retried=len(retry))

    def _failed_message_ids(self, result: InvocationResult, records: list[dict[str, Any]]) -> set[str]:
        all_ids = {record["messageId"] for record in records}
        if not result.ok:
            return all_ids
        if not self.mapping.reports_batch_item_failures:
            return set()
        listed = _batch_item_failures(result.payload)
        if listed is None:
            return set()
        # Lambda fails the whole batch when an identifier is empty or unknown.
        if not listed <= all_ids:
            return all_ids
        self.engine.count(self.label, partial_failures=len(listed))
        return listed

    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes", {})),
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.source_arn,
            "awsRegion": self.engine.aws.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record


class StreamShardPoller(_Poller):
    def __init__(
        self,
        engine: EventSourceEngine,
        label: str,
        mapping: DeployedMapping,
        function: DeployedFunction,
        shard_id: str,
        shard_start: int,
    ) -> None:
        super().__init__(engine, f"{label}", function)
        self.mapping = mapping
        self.shard_id = shard_id
        self.streams = engine.aws.client("dynamodbstreams")
        self.sqs = engine.aws.client("sqs")
        self._shard_start = shard_start
        self._initial_iterator: str | None = None
        self._last_sequence_number: int | None = None
        self._delivered_order: deque[str] = deque(maxlen=_STREAM_REMEMBERED_IDS)
        self._delivered_ids: set[str] = set()

    def run(self) -> None:
        while not self.engine.stopping.is_set():
            try:
                records = [self._record(raw) for raw in self._fetch_undelivered()]
            except (BotoCoreError, ClientError) as error:
                logger.warning("get_records failed", mapping=self.label, error=str(error))
                self.engine.stopping.wait(1)
                continue
            if not records:
                self.drained = True
                self.engine.stopping.wait(self.engine.options.stream_poll_interval_s)
                continue
            self.busy, self.drained = True, False
            try:
                self.engine.count(self.label, records=len(records))
                logger.info(
                    "stream batch",
                    mapping=self.label,
                    records=len(records),
                    first_sequence_number=records[0]["dynamodb"]["SequenceNumber"],
                    last_sequence_number=records[-1]["dynamodb"]["SequenceNumber"],
                )
                self._deliver(records)
            finally:
                for record in records:
                    self._remember(record)
                self.busy = False

    def _fetch_undelivered(self) -> list[dict[str, Any]]:
        """The next batch of records not yet delivered, oldest first.

        A fresh iterator every poll, a little before the last delivered record,
        filtered by eventID: moto puts a table back from a copy whenever a
        transaction is cancelled, and the records the transaction had written are
        dropped (local.moto_rollback), so later records reuse their sequence
        numbers. Re-reading a short window and skipping delivered eventIDs is
        correct both on moto and on a real stream."""
        if self._last_sequence_number is None:
            if self._initial_iterator is None:
                self._initial_iterator = self.streams.get_shard_iterator(
                    StreamArn=self.mapping.source_arn,
                    ShardId=self.shard_id,
                    ShardIteratorType=self.mapping.starting_position or "TRIM_HORIZON",
                )["ShardIterator"]
            page = self.streams.get_records(ShardIterator=self._initial_iterator, Limit=_STREAM_READ_LIMIT)
            if self.mapping.starting_position == "LATEST":
                self._initial_iterator = page.get("NextShardIterator") or self._initial_iterator
            else:
                self._initial_iterator = None  # TRIM_HORIZON: re-read from the start next time
        else:
            start = max(self._shard_start, self._last_sequence_number - _STREAM_REWIND)
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.mapping.source_arn,
                ShardId=self.shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=str(start),
            )["ShardIterator"]
            page = self.streams.get_records(ShardIterator=iterator, Limit=_STREAM_READ_LIMIT)
        fresh = [raw for raw in page.get("Records", []) if raw["eventID"] not in self._delivered_ids]
        return fresh[: self.mapping.batch_size]

    def _remember(self, record: Mapping[str, Any]) -> None:
        if len(self._delivered_order) == self._delivered_order.maxlen:
            self._delivered_ids.discard(self._delivered_order[0])
        self._delivered_order.append(record["eventID"])
        self._delivered_ids.add(record["eventID"])
        number = int(record["dynamodb"]["SequenceNumber"])
        self._last_sequence_number = max(self._last_sequence_number or number, number)

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        """Retry a batch per the mapping until it succeeds or its retries run out."""
        attempts = 0
        while records and not self.engine.stopping.is_set():
            attempts += 1
            copies = self.invoke({"Records": records}, records)
            # The shard advances only past what every copy processed.
            outcomes = [(self._first_failed_index(copy, records), copy) for copy in copies]
            failing = [(index, copy) for index, copy in outcomes if index is not None]
            if not failing:
                return
            first_failed, result = min(failing, key=lambda pair: (pair[0], pair[1].ok))
            retries_left = self.mapping.max_retry_attempts is None or attempts <= self.mapping.max_retry_attempts
            if not retries_left:
                self._send_on_failure(records[first_failed:], attempts, result)
                return
            if not result.ok and self.mapping.bisect_on_error and len(records) > 1:
                middle = len(records) // 2
                self._deliver(records[:middle])
                self._deliver(records[middle:])
                return
            records = records[first_failed:]
            self.engine.stopping.wait(self.engine.options.retry_delay_s)

    def _first_failed_index(self, result: InvocationResult, records: list[dict[str, Any]]) -> int | None:
        if not result.ok:
            return 0
        if not self.mapping.reports_batch_item_failures:
            return None
        listed = _batch_item_failures(result.payload)
        if not listed:
            return None
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in records]
        if not listed <= set(sequence_numbers):
            return 0  # an unknown identifier fails the whole batch, as on Lambda
        self.engine.count(self.label, partial_failures=len(listed))
        return min(sequence_numbers.index(number) for number in listed)

    def _send_on_failure(self, records: list[dict[str, Any]], attempts: int, result: InvocationResult) -> None:
        """The record Lambda sends to a stream mapping's on-failure destination."""
        if not self.mapping.on_failure_arn:
            logger.error("stream batch dropped after retries", mapping=self.label, records=len(records))
            return
        now = _iso_now()
        failure = {
            "requestContext": {
                "requestId": result.request_id,
                "functionArn": self.worker.spec.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if not result.ok else "",
            },
            "version": "1.0",
            "timestamp": now,
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": now,
                "approximateArrivalOfLastRecord": now,
                "batchSize": len(records),
                "streamArn": self.mapping.source_arn,
            },
        }
        queue_name = self.mapping.on_failure_arn.rsplit(":", 1)[1]
        queue_url = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(failure))
        self.engine.count(self.label, on_failure_records=1)

    def _record(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        dynamodb = dict(raw["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):  # boto3 parses it; the Lambda event carries epoch seconds
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        record = {
            "eventID": raw["eventID"],
            "eventName": raw["eventName"],
            "eventVersion": raw.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion", self.engine.aws.region),
            "dynamodb": dynamodb,
            "eventSourceARN": self.mapping.source_arn,
        }
        if "userIdentity" in raw:  # TTL deletions
            record["userIdentity"] = raw["userIdentity"]
        return record


class ScheduleRunner(_Poller):
    """Invokes an EventBridge schedule's target with the real scheduled-event shape."""

    def __init__(
        self, engine: EventSourceEngine, label: str, schedule: DeployedSchedule, function: DeployedFunction,
        interval_s: float,
    ) -> None:
        super().__init__(engine, label, function)
        self.schedule = schedule
        self.interval_s = interval_s
        self.drained = True

    def run(self) -> None:
        while not self.engine.stopping.wait(self.interval_s):
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": self.engine.aws.account_id,
                "time": _iso_now(),
                "region": self.engine.aws.region,
                "resources": [self.schedule.rule_arn],
                "detail": {},
            }
            self.engine.count(self.label, records=1)
            self._invoke_once(self.worker, event, [])

    def idle(self) -> bool:
        return True  # a clock never makes the system busy


@dataclass
class EventSourceEngine:
    aws: MotoAws
    stack: DeployedStack
    base_env: Mapping[str, str]
    log_dir: Path
    options: EngineOptions = field(default_factory=EngineOptions)
    stopping: threading.Event = field(default_factory=threading.Event, init=False)
    counters: dict[str, MappingCounters] = field(default_factory=dict, init=False)
    invocations: list[dict[str, Any]] = field(default_factory=list, init=False)  # record_invocation
    _pollers: list[_Poller] = field(default_factory=list, init=False)
    receivers: dict[str, FairReceiver] = field(default_factory=dict, init=False)  # by mapping label
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _random: random.Random = field(default_factory=random.Random, init=False)
    _lose_rates: dict[str, float] = field(default_factory=dict, init=False)  # by function logical id

    def __post_init__(self) -> None:
        self._random.seed(self.options.seed)
        self._lose_rates = {
            logical_id: rate
            for logical_id, function in self.stack.functions.items()
            if (rate := _lose_rate(self.options.lose_responses, function)) > 0
        }

    def draw_lost_response(self, function: DeployedFunction, records: Sequence[Mapping[str, Any]]) -> bool:
        predicate = self.options.lose_matching
        if predicate is not None and any(predicate(record) for record in records):
            return True
        rate = self._lose_rates.get(function.logical_id, 0.0)
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def new_worker(self, function: DeployedFunction) -> FunctionWorker:
        return FunctionWorker(WorkerSpec.for_function(function, self.base_env, self.log_dir))

    def record_invocation(self, label: str, function: DeployedFunction, result: InvocationResult) -> None:
        """One line per invocation (the bench's durations, memory and timeout shares)."""
        ended = time.time()
        with self._lock:
            self.invocations.append(
                {"label": label, "function": function.logical_id, "started": ended - result.duration_ms / 1000,
                 "ended": ended, "duration_ms": result.duration_ms, "timeout_s": function.timeout_s,
                 "memory_mb": function.memory_mb, "max_rss_kb": result.max_rss_kb, "ok": result.ok}
            )

    def count(self, label: str, **increments: int) -> None:
        with self._lock:
            counters = self.counters[label]
            for name, amount in increments.items():
                setattr(counters, name, getattr(counters, name) + amount)

    def start(self) -> None:
        for mapping in self.stack.mappings:
            function = self.stack.functions[mapping.function_logical_id]
            label = mapping_label(mapping)
            self.counters[label] = MappingCounters()
            if mapping.source_kind == "sqs":
                slots = min(mapping.max_concurrency or self.options.concurrency_cap, self.options.concurrency_cap)
                assert mapping.queue_url is not None
                receiver = FairReceiver(
                    self.aws.client("sqs"),
                    mapping.queue_url,
                    mapping.batch_size,
                    self.options.poll_wait_s,
                    function.timeout_s,
                    window=self.options.fair_window,
                )
                self.receivers[label] = receiver
                self._pollers.extend(
                    SqsPoller(self, label, mapping, function, receiver) for _ in range(max(1, slots))
                )
            else:
                shards = self.aws.client("dynamodbstreams").describe_stream(StreamArn=mapping.source_arn)[
                    "StreamDescription"
                ]["Shards"]
                # moto keeps one shard per table and never splits it, so the shard
                # list read at start is the whole list.
                self._pollers.extend(
                    StreamShardPoller(
                        self,
                        label,
                        mapping,
                        function,
                        shard["ShardId"],
                        int(shard["SequenceNumberRange"]["StartingSequenceNumber"]),
                    )
                    for shard in shards
                )
        if self.options.race_duplicates:
            for poller in self._pollers:
                poller.enable_race()
        if self.options.schedule_interval_s is not None:
            for schedule in self.stack.schedules:
                label = f"{schedule.function_logical_id}<-{schedule.rule_name}"
                self.counters[label] = MappingCounters()
                function = self.stack.functions[schedule.function_logical_id]
                self._pollers.append(ScheduleRunner(self, label, schedule, function, self.options.schedule_interval_s))
        for poller in self._pollers:
            poller.start()
        logger.info("engine started", pollers=len(self._pollers), mappings=len(self.stack.mappings))

    def warm_workers(self) -> None:
        """Start every poller's worker process now (their cold starts), in parallel."""
        threads = [threading.Thread(target=poller.worker.warm, daemon=True) for poller in self._pollers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def wait_idle(self, timeout_s: float = 60, settle_s: float = 1.5) -> bool:
        """True once every poller is idle and every source queue is empty for `settle_s`."""
        deadline = time.monotonic() + timeout_s
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self._is_idle():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle_s:
                    return True
            else:
                quiet_since = None
            time.sleep(0.2)
        return False

    def _is_idle(self) -> bool:
        if not all(poller.idle() for poller in self._pollers):
            return False
        sqs = self.aws.client("sqs")
        for mapping in self.stack.mappings:
            if mapping.queue_url is None:
                continue
            attributes = sqs.get_queue_attributes(QueueUrl=mapping.queue_url, AttributeNames=["All"])["Attributes"]
            pending = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                       "ApproximateNumberOfMessagesDelayed")
            if any(int(attributes.get(name, "0")) for name in pending):
                return False
        return True

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {label: asdict(counters) for label, counters in self.counters.items()}

    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for counters in self.stats().values():
            for name, value in counters.items():
                totals[name] = totals.get(name, 0) + value
        return totals

    def stop(self, join_timeout_s: float = 10) -> None:
        self.stopping.set()
        for poller in self._pollers:
            poller.join(timeout=join_timeout_s)
        for receiver in self.receivers.values():
            receiver.close()
        for poller in self._pollers:
            poller.worker.close()
            if poller.twin is not None:
                poller.twin.close()
        logger.info("engine stopped", totals=self.totals())


def mapping_label(mapping: DeployedMapping) -> str:
    """`<function logical id><-<queue name | table name>`: stable across runs' physical names."""
    if mapping.source_kind == "sqs":
        source = mapping.source_arn.rsplit(":", 1)[1]
    else:
        source = mapping.source_arn.split(":table/", 1)[1].split("/stream/", 1)[0]
    return f"{mapping.function_logical_id}<-{source}"


def _batch_item_failures(payload: Any) -> set[str] | None:
    """The identifiers of a partial batch response; None when there is none."""
    if not isinstance(payload, Mapping) or "batchItemFailures" not in payload:
        return None
    failures = payload["batchItemFailures"] or []
    return {str(item.get("itemIdentifier") or "") for item in failures if isinstance(item, Mapping)}


def _lose_rate(rates: Mapping[str, float], function: DeployedFunction) -> float:
    """The rate for a function: by name or logical id, by stage (a lambdas/
    directory name such as query_show_data, matched against the construct path),
    else "*"."""
    path = function.construct_path.lower()
    for key, rate in rates.items():
        stage = key.replace("_", "").lower()
        if key in (function.name, function.logical_id) or (key != "*" and f"/{stage}/" in f"{path}/"):
            return rate
    return rates.get("*", 0.0)


def _worse(result: InvocationResult, second: InvocationResult) -> InvocationResult:
    """Of two sequential deliveries, the worse outcome (failed items merged)."""
    if result.ok and not second.ok:
        return second
    if result.ok and second.ok:
        return _merge_batch_failures(result, second)
    return result


def _merge_batch_failures(first: InvocationResult, second: InvocationResult) -> InvocationResult:
    merged = (_batch_item_failures(first.payload) or set()) | (_batch_item_failures(second.payload) or set())
    if not merged:
        return second
    payload = {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in sorted(merged)]}
    return InvocationResult(second.request_id, ok=True, payload=payload, duration_ms=second.duration_ms)


def _lambda_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API message attributes -> the camelCase shape of the Lambda event."""
    converted = {}
    for name, value in attributes.items():
        binary = value.get("BinaryValue")
        converted[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary,
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
    return converted


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
