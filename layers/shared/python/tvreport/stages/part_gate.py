"""When a chunk's part stops taking more shows (tvreport.stages.in_order's gate):

- the session is no longer crunching (cancelled, failed, deleted): stop at once;
- the part should hand the rest of the chunk on to its own queue: the invocation's
  time is short, or the part has run its time slice. The slice bounds how long one
  chunk of a long session holds a worker: the freed worker's next message is the
  quietest session's (SQS fair queues; locally local.fair_queue), so a light session
  started beside a huge one waits at most a slice for each stage, not a whole chunk.
  A bulk session's parts (tvreport.waves.is_bulk) take the shorter BULK_TIME_SLICE_S."""
from __future__ import annotations

import time
from collections.abc import Callable

from tvreport.repositories.protocols import SessionStore

HANDOFF_MARGIN_MS = 45_000  # time left that still covers a show's calls and the part's writes
TIME_SLICE_S = 15.0  # about a third of a 50-show crawl chunk sharing Rotten Tomatoes' 5/s with another
# What a light session waits at most for a worker a long one holds, in each stage. Each
# slice costs the long session one hand-off (a message, an invocation, a batch read).
BULK_TIME_SLICE_S = 5.0


def part_gate(sessions: SessionStore, session_id: str, remaining_ms: Callable[[], int], *,
              can_hand_off: bool, time_slice_s: float = TIME_SLICE_S, bulk: bool = False,
              clock: Callable[[], float] = time.monotonic) -> Callable[[int], str | None]:
    """A gate for this part, its slice counted from now. Without a queue to hand off to
    (`can_hand_off` False) only cancellation stops it."""
    started = clock()
    if bulk:
        time_slice_s = min(time_slice_s, BULK_TIME_SLICE_S)

    def gate(index: int) -> str | None:
        if sessions.crunching(session_id) is None:
            return "cancelled"  # nothing forwarded or counted, so counts stay whole chunks
        if can_hand_off and (remaining_ms() < HANDOFF_MARGIN_MS or clock() - started >= time_slice_s):
            return "time"
        return None

    return gate
