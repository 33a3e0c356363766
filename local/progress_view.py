"""What the terminal shows: a progress bar per stage while a session runs (on
stderr) and the finished report as a readable summary."""
from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.tree import Tree

from tvreport.schema import FOLLOW_UPS, STAGES as _REGISTRY

STAGES = tuple(spec.label for spec in _REGISTRY.values())  # the session document's `stages` keys
_REPORT_SECTIONS = ("statistics", *(str(spec.report_key) for spec in FOLLOW_UPS))


class StageProgress:
    """One bar per stage, fed with session documents from GET /sessions/{id}."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(bar_width=30),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[detail]}"),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._last_state: str | None = None

    def __enter__(self) -> Self:
        self._progress.start()
        for stage in STAGES:
            self._tasks[stage] = self._progress.add_task(stage, total=100, detail="")
        return self

    def update(self, session: Mapping[str, Any]) -> None:
        stages = session.get("stages") or {}
        for stage, task in self._tasks.items():
            info = stages.get(stage) or {}
            self._progress.update(task, completed=int(info.get("percent") or 0), detail=stage_detail(info))
        reason = session.get("failureReason")
        state = str(session.get("state", "?")) + (f" ({reason})" if reason else "")
        if state != self._last_state:  # one line per state change, above the bars
            self._progress.console.print(f"session {session.get('sessionId', '')}: {state}")
            self._last_state = state

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()


def stage_detail(info: Mapping[str, Any]) -> str:
    """`pages 3/5`, `shows 40 (2 failed), chunks 1/2 done`: the counters a stage reports."""
    parts = []
    if "pagesDone" in info:
        parts.append(f"pages {info['pagesDone']}/{info.get('pagesTotal', '?')}")
    if "showsDone" in info:
        failed = info.get("showsFailed") or 0
        parts.append(f"shows {info['showsDone']}" + (f" ({failed} failed)" if failed else ""))
    if "chunksDone" in info:
        failed = info.get("chunksFailed") or 0
        parts.append(f"chunks {info['chunksDone']} done" + (f", {failed} dead-lettered" if failed else ""))
    return ", ".join(parts)


def print_summary(
    console: Console, session: Mapping[str, Any], report: Mapping[str, Any] | None, run: Mapping[str, Any]
) -> None:
    """The final session and its report, readable."""
    state = session.get("state")
    colour = "green" if state == "COMPLETED" else "red"
    console.rule(f"[bold {colour}]{state}[/] session {session.get('sessionId')}")
    if session.get("failureReason"):
        console.print(f"failure reason: [red]{session['failureReason']}[/]")
    if report:
        for section in _REPORT_SECTIONS:
            if report.get(section):
                console.print(_tree(section, report[section]))
        others = {k: v for k, v in report.items() if k not in (*_REPORT_SECTIONS, "sessionId")}
        if others:
            console.print(_tree("other", others))
    table = Table(title="run", show_header=False)
    for key, value in run.items():
        table.add_row(str(key), _compact(value))
    console.print(table)


def _tree(label: str, value: Any) -> Tree:
    tree = Tree(f"[bold]{label}[/]")
    _add(tree, value)
    return tree


def _add(tree: Tree, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if isinstance(inner, (Mapping, list)) and inner and not _is_flat(inner):
                _add(tree.add(f"[cyan]{key}[/]"), inner)
            else:
                tree.add(f"[cyan]{key}[/]: {_compact(inner)}")
    elif isinstance(value, list):
        for index, inner in enumerate(value, 1):
            tree.add(f"{index}. {_compact(inner)}")
    else:
        tree.add(_compact(value))


def _is_flat(value: Any) -> bool:
    if isinstance(value, Mapping):
        return len(value) <= 4 and not any(isinstance(v, (Mapping, list)) for v in value.values())
    return all(not isinstance(v, (Mapping, list)) for v in value) and len(value) <= 6


def _compact(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_compact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_compact(v) for v in value)
    return str(value)
