"""The local system's process holds moto, the sandbox servers and the engine, and
Python's full (generation 2) collections over moto's growing tables paused every
thread in it for 0.25-1.3 s (measured on a 300-show session): the sandbox then
stamped the requests queued behind a pause together, as a burst no client sent, and
moto stalled. While a system runs, only young collections run (they reclaim the
short-lived request objects); what was built at start-up is frozen out of them."""
from __future__ import annotations

import gc

NO_FULL_COLLECTIONS = 2**31 - 1  # young collections before a full one: never, in practice


class YoungCollectionsOnly:
    """`start()` once the system is built, `stop()` when it stops (restores the thresholds)."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        gc.collect()
        gc.freeze()  # start-up objects (service models, the template) are not scanned again
        young, middle, _ = self._saved
        gc.set_threshold(young, middle, NO_FULL_COLLECTIONS)

    def stop(self) -> None:
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        gc.unfreeze()
        self._saved = None
