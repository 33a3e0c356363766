"""SQS fair queues, locally: the pollers of one mapping take the session with the
fewest messages in flight first.

On AWS a standard queue whose messages carry a MessageGroupId is a fair queue: when
one tenant (here a session, tvreport.publisher) holds a disproportionate share of
the in-flight messages, SQS returns the quiet tenants' messages first. moto keeps
the MessageGroupId but delivers in send order, so the engine does the reordering.

How, without touching receive counts: SQS counts every receive toward
maxReceiveCount (moto too: `Message.mark_received`), so "receive ten, keep one,
release nine" would bring the nine a receive closer to the DLQ on every poll. A
`FairReceiver` instead keeps what it received in a window shared by the mapping's
pollers, up to `window` messages, received once each and each delivered once
(they stay invisible in SQS meanwhile, as Lambda's batches do). Each take tops the
window up and hands out the buffered message of the group with the fewest messages
being processed, oldest first within a group and between equal groups (messages
without a group are each their own tenant, as on SQS).

A message could outwait the queue's visibility timeout in the window only if
invocations ran far past their timeout; before one is handed out later than
(visibility - function timeout) after its receive, its visibility is renewed (a
ChangeMessageVisibility, which is not a receive). On `close` the window is given
back (visibility 0): those messages were received once without a delivery, as when
a Lambda poller dies."""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from local.runner_log import logger

SQS_MAX_BATCH = 10
# SQS weighs every message of the queue; the window is what the engine can weigh. A long
# history keeps two waves (20 chunks) and their hand-off parts queued, and a window of
# only those (20, before) kept a light session's message in the queue behind ten of
# them for four slices: 100 holds five such sessions beside the others' heads.
DEFAULT_WINDOW = 100


@dataclass
class _Buffered:
    message: dict[str, Any]
    group: str
    received_at: float  # time.monotonic()


def group_of(message: dict[str, Any]) -> str:
    """The tenant: its MessageGroupId, else the message alone."""
    attributes = message.get("Attributes", {})
    return attributes.get("MessageGroupId") or f"message:{message['MessageId']}"


class FairReceiver:
    """One per SQS mapping, shared by its pollers (thread-safe)."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        batch_size: int,
        wait_s: int,
        function_timeout_s: float,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.batch = max(1, min(batch_size, SQS_MAX_BATCH))
        self.wait_s = wait_s
        fifo = queue_url.endswith(".fifo")  # a FIFO queue keeps SQS's own group order: no window
        self.window = self.batch if fifo else max(window, self.batch)
        visibility = int(
            sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"][
                "VisibilityTimeout"
            ]
        )
        self.visibility_s = visibility
        self.renew_after_s = max(0.0, visibility - function_timeout_s)
        self._buffer: list[_Buffered] = []
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()  # the window and the counts
        self._receiving = threading.Lock()  # one top-up at a time

    def take(self) -> list[dict[str, Any]]:
        """The next batch (at most batch_size messages), fairest first; [] after a
        long poll that found nothing. Call `finished` with it once it is acknowledged
        or handed back for a retry."""
        self._top_up()
        with self._lock:
            chosen = self._pick()
            for item in chosen:
                self._in_flight[item.group] += 1
        return self._renewed(chosen)

    def finished(self, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            for message in messages:
                group = group_of(message)
                self._in_flight[group] -= 1
                if self._in_flight[group] <= 0:
                    del self._in_flight[group]

    def in_flight(self) -> dict[str, int]:
        with self._lock:
            return dict(self._in_flight)

    def buffered(self) -> int:
        with self._lock:
            return len(self._buffer)

    def close(self) -> None:
        """Give the window's messages back to the queue at once."""
        with self._lock:
            handles = [item.message["ReceiptHandle"] for item in self._buffer]
            self._buffer.clear()
        for start in range(0, len(handles), SQS_MAX_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(handles[start : start + SQS_MAX_BATCH])
            ]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except ClientError as error:  # visible again at its timeout anyway
                logger.warning("window release failed", queue_url=self.queue_url, error=str(error))

    def _top_up(self) -> None:
        """Receive until the window is full or the queue has nothing more: a long poll
        only while the window is empty (there is nothing to hand out meanwhile)."""
        with self._receiving:
            while True:
                with self._lock:
                    room = self.window - len(self._buffer)
                    empty = not self._buffer
                if room <= 0:
                    return
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=min(room, SQS_MAX_BATCH),
                    WaitTimeSeconds=self.wait_s if empty else 0,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    return
                now = time.monotonic()
                with self._lock:
                    self._add(messages, now)

    def _add(self, messages: list[dict[str, Any]], now: float) -> None:
        # A message received again (its visibility ran out while it waited here)
        # replaces its stale copy: the old receipt handle no longer acts on it.
        fresh = {message["MessageId"]: message for message in messages}
        self._buffer = [item for item in self._buffer if item.message["MessageId"] not in fresh]
        self._buffer.extend(_Buffered(message, group_of(message), now) for message in messages)

    def _pick(self) -> list[_Buffered]:
        """Up to one batch: each slot to the group with the fewest in flight (this
        batch's picks included), ties to the group whose oldest message came first."""
        if self.window == self.batch:  # a window of one batch (FIFO queues): as received
            taken, self._buffer = self._buffer[: self.batch], self._buffer[self.batch :]
            return taken
        chosen: list[_Buffered] = []
        counts = Counter(self._in_flight)
        while self._buffer and len(chosen) < self.batch:
            first_index: dict[str, int] = {}
            for index, item in enumerate(self._buffer):
                first_index.setdefault(item.group, index)
            group = min(first_index, key=lambda g: (counts[g], first_index[g]))
            chosen.append(self._buffer.pop(first_index[group]))
            counts[group] += 1
        return chosen

    def _renewed(self, chosen: list[_Buffered]) -> list[dict[str, Any]]:
        """The chosen messages, each with a visibility long enough for its invocation;
        one whose receipt no longer holds (it became visible) is left to SQS."""
        now = time.monotonic()
        kept = []
        for item in chosen:
            if now - item.received_at > self.renew_after_s:
                try:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url,
                        ReceiptHandle=item.message["ReceiptHandle"],
                        VisibilityTimeout=self.visibility_s,
                    )
                except ClientError as error:
                    logger.warning("stale window message left to the queue", error=str(error))
                    self.finished([item.message])
                    continue
            kept.append(item.message)
        return kept
