"""Readable output of each command (rich tables); `--json` prints the same data."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table


def session(console: Console, doc: dict[str, Any]) -> None:
    reason = f" ({doc['failure_reason']})" if doc.get("failure_reason") else ""
    totals = doc["totals"]
    split = (f"{totals['shows']} shows in {totals['chunks']} chunks" if totals["chunks"] is not None
             else "history not split into chunks yet")
    console.print(f"[bold]session {doc['session_id']}[/]: {doc['state']}{reason}; {split}; "
                  f"updated {doc['updated_at']}")
    stages = Table("stage", "percent", "shows done", "shows failed", "chunks done", "chunks failed", title="stages")
    for stage, percent in doc["stages"].items():
        counters = doc["counters"].get(stage)
        if counters:
            cells = [str(counters[k]) for k in ("shows_done", "shows_failed", "chunks_done", "chunks_failed")]
        else:
            cells = ["", "", "", ""]
        status = doc["ai_stages"].get(stage)
        stages.add_row(stage, f"{percent}%" + (f" ({status})" if status else ""), *cells)
    console.print(stages)
    if doc["chunks"]:
        chunks = Table("chunk", *[k for k in doc["chunks"][0] if k != "chunk_id"], title="where each chunk is")
        for row in doc["chunks"]:
            chunks.add_row(str(row["chunk_id"]), *[str(v) for k, v in row.items() if k != "chunk_id"])
        console.print(chunks)
    ledger = Table("stage", "chunk", "status", "shows done", "shows failed", "counted at", title="ledger")
    for entry in doc["ledger"]:
        ledger.add_row(entry["stage"], str(entry["chunk_id"]), entry["status"], str(entry["shows_done"]),
                       str(entry["shows_failed"]), str(entry["counted_at"]))
    console.print(ledger)
    depths = ", ".join(f"{name} {d['visible']}+{d['in_flight']}" for name, d in doc["queues"].items())
    console.print(f"stage queues (visible+in flight, all sessions): {depths}")


def dead_letters(console: Console, doc: dict[str, Any]) -> None:
    table = Table("DLQ of", "visible", "in flight", "message", "receives", "sent at", "session", "chunk / detail",
                  title="dead-letter queues")
    for queue in doc["queues"]:
        depth = queue["depth"]
        if not queue["messages"]:
            table.add_row(queue["stage"], str(depth["visible"]), str(depth["in_flight"]), "-", "", "", "", "")
        for m in queue["messages"]:
            if m["poison"]:
                session_id, detail = "[red]unreadable[/]", f"{m['errors']} validation errors, {m['body_bytes']} bytes"
            else:
                session_id = m["session_id"]
                detail = (f"chunk {m['chunk_id']} ({m['shows']} shows)" if "chunk_id" in m
                          else f"page {m['next_page']}" if "next_page" in m else "")
            table.add_row(queue["stage"], str(depth["visible"]), str(depth["in_flight"]), m["message_id"],
                          str(m["receive_count"]), m["sent_at"], session_id, detail)
    console.print(table)


def redrive(console: Console, doc: dict[str, Any]) -> None:
    before, after = doc["dead_letter_depth_before"], doc["dead_letter_depth_after"]
    if doc["method"] == "move-task":
        console.print(f"{doc['stage']}: move task {doc['task_handle']} started "
                      f"({before['visible']} messages in the DLQ when it started)")
    else:
        console.print(f"{doc['stage']}: {doc['moved']} message(s) moved back to the queue, {doc['failed']} failed; "
                      f"DLQ {before['visible']} -> {after['visible']} visible")


def retry_failed(console: Console, doc: dict[str, Any]) -> None:
    if not doc["retried"] and not doc["skipped"]:
        console.print(f"session {doc['session_id']}: no dead-lettered chunk; nothing to retry")
        return
    for entry in doc["retried"]:
        console.print(f"chunk {entry['chunk_id']} ({entry['shows']} shows): taken off {', '.join(entry['stages'])} "
                      "and sent to query_show_data again")
    for chunk_id in doc["skipped"]:
        console.print(f"chunk {chunk_id}: skipped (already retried, or the session ended meanwhile)")


def cancel(console: Console, doc: dict[str, Any]) -> None:
    console.print(f"session {doc['session_id']}: {doc['state']} ({doc['failure_reason']})")


RENDERERS: dict[str, Callable[[Console, dict[str, Any]], None]] = {
    "session": session, "dlq": dead_letters, "redrive": redrive, "retry-failed": retry_failed, "cancel": cancel,
}
