"""`with X(...) as x:` for the local runtime's servers and systems: entering starts,
leaving stops, an exception or not."""
from __future__ import annotations

from types import TracebackType
from typing import Self


class StartStop:
    """Mixin for a class with `start() -> Self` and `stop()`."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
