"""The stored session item, for tests that check attributes the typed view does not
carry (failure detail, date format, results by field name, absent counters)."""
from __future__ import annotations

from typing import Any, Protocol


class _HoldsItems(Protocol):
    def get_item(self, session_id: str) -> dict[str, Any] | None: ...


def stored_session(sessions: _HoldsItems, session_id: str) -> dict[str, Any]:
    """The raw session item as the table (moto) or the fake holds it; fails when missing."""
    item = sessions.get_item(session_id)
    assert item is not None, f"no stored session item for {session_id}"
    return item
