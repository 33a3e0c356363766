"""Worker processes that run a function's handler the way Lambda does.

One process is one execution environment: it gets the function's environment,
puts the code directory and the layers' python/ folders on sys.path (Lambda's
/var/task and /opt/python), imports the handler module once (the cold start) and
then serves invocations sent over a pipe. An invocation that outlives the
function's timeout kills the process, as Lambda does; the next one starts fresh.
"""
from __future__ import annotations

import contextlib
import faulthandler
import importlib
import json
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local.deploy import DeployedFunction

_SPAWN = multiprocessing.get_context("spawn")
INIT_TIMEOUT_S = 60.0  # Lambda allows 10 s of init; a loaded 2-core machine needs more
_IPC_GRACE_S = 0.25
# Inherited from the runner so a worker can find its interpreter; nothing else
# (no real AWS credentials or API keys) leaks into a function's environment.
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


@dataclass(frozen=True)
class InvocationResult:
    request_id: str
    ok: bool
    payload: Any = None  # the handler's return value after a JSON round trip
    error_type: str | None = None
    error_message: str | None = None
    error_traceback: str | None = None
    timed_out: bool = False
    duration_ms: float = 0.0
    max_rss_kb: int = 0  # the worker process's peak resident set so far (0: unknown)


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs, in picklable form."""

    function_name: str
    function_arn: str
    handler: str
    timeout_s: int
    memory_mb: int
    code_dir: str
    layer_dirs: tuple[str, ...]
    environment: Mapping[str, str]
    log_path: str

    @classmethod
    def for_function(
        cls, function: DeployedFunction, base_env: Mapping[str, str], log_dir: Path
    ) -> WorkerSpec:
        environment = {key: os.environ[key] for key in _INHERITED_ENV if key in os.environ}
        environment.update(base_env)
        environment.update(function.environment)
        environment.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": function.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
                "LAMBDA_TASK_ROOT": str(function.code_dir),
                "_HANDLER": function.handler,
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
            }
        )
        log_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            function_name=function.name,
            function_arn=function.arn,
            handler=function.handler,
            timeout_s=function.timeout_s,
            memory_mb=function.memory_mb,
            code_dir=str(function.code_dir),
            layer_dirs=tuple(str(path) for path in function.layer_dirs),
            environment=environment,
            log_path=str(log_dir / f"{function.logical_id}.log"),
        )


class FunctionWorker:
    """One execution environment of a function; `invoke` is serialized."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self._process: Any = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self.cold_starts = 0
        self.timeouts = 0

    def invoke(self, event: Any) -> InvocationResult:
        request_id = str(uuid.uuid4())
        with self._lock:
            started = time.monotonic()
            try:
                conn = self._ensure_started()
            except WorkerInitError as error:
                return InvocationResult(
                    request_id, ok=False, error_type="Runtime.InitError", error_message=str(error)
                )
            conn.send((request_id, json.dumps(event)))
            if not conn.poll(self.spec.timeout_s + _IPC_GRACE_S):
                self.timeouts += 1
                self._dump_stacks()
                self._kill()
                return InvocationResult(
                    request_id,
                    ok=False,
                    error_type="Sandbox.Timedout",
                    error_message=f"Task timed out after {self.spec.timeout_s:.2f} seconds",
                    timed_out=True,
                    duration_ms=(time.monotonic() - started) * 1000,
                )
            try:
                reply = conn.recv()
            except EOFError:  # the process died mid-invocation (os._exit, segfault, OOM)
                self._kill()
                return InvocationResult(
                    request_id, ok=False, error_type="Runtime.ExitError", error_message="worker exited"
                )
            duration_ms = (time.monotonic() - started) * 1000
            rss_kb = int(reply.get("max_rss_kb", 0))
            if reply["ok"]:
                return InvocationResult(request_id, ok=True, payload=json.loads(reply["payload"]),
                                        duration_ms=duration_ms, max_rss_kb=rss_kb)
            return InvocationResult(
                request_id,
                ok=False,
                error_type=reply["error_type"],
                error_message=reply["error_message"],
                error_traceback=reply["traceback"],
                duration_ms=duration_ms,
                max_rss_kb=rss_kb,
            )

    def warm(self) -> None:
        """Start the process (the cold start) ahead of an invocation, so two racing
        invocations are sent at the same moment; an init failure is reported by
        the invocation that follows."""
        with self._lock:
            with contextlib.suppress(WorkerInitError):
                self._ensure_started()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(BrokenPipeError, OSError):
                    self._conn.send(None)  # a clean shutdown lets the child flush its logs
            if self._process is not None:
                self._process.join(timeout=2)
            self._kill()

    def _ensure_started(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._kill()
        parent_conn, child_conn = _SPAWN.Pipe()
        process = _SPAWN.Process(
            target=_worker_main, args=(self.spec, child_conn), name=f"lambda:{self.spec.function_name}", daemon=True
        )
        process.start()
        child_conn.close()
        self._process, self._conn = process, parent_conn
        self.cold_starts += 1
        if not parent_conn.poll(INIT_TIMEOUT_S):
            self._kill()
            raise WorkerInitError(f"{self.spec.function_name}: init took more than {INIT_TIMEOUT_S:.0f} s")
        try:
            ready = parent_conn.recv()
        except EOFError as error:
            self._kill()
            raise WorkerInitError(f"{self.spec.function_name}: worker exited during init") from error
        if not ready["ok"]:
            self._kill()
            raise WorkerInitError(f"{ready['error_type']}: {ready['error_message']}")
        return parent_conn

    def _dump_stacks(self) -> None:
        """Ask a timed-out worker for its threads' stacks (faulthandler, into the
        function's log) before killing it: where it hung is what one wants to know."""
        if self._process is not None and self._process.is_alive() and self._process.pid:
            try:
                os.kill(self._process.pid, signal.SIGUSR1)
                time.sleep(0.3)
            except OSError:
                pass

    def _kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None


class WorkerInitError(RuntimeError):
    """The handler module could not be imported (Lambda's Runtime.ImportModuleError)."""


class LambdaContext:
    """The attributes and method of Lambda's Python context object."""

    def __init__(self, spec: WorkerSpec, request_id: str) -> None:
        self.function_name = spec.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.function_arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# ---------------------------------------------------------------- child process


def _worker_main(spec: WorkerSpec, conn: Connection) -> None:
    _redirect_output(spec.log_path)
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    os.environ.clear()
    os.environ.update(spec.environment)
    _set_lambda_sys_path(spec)
    try:
        module_name, attribute = spec.handler.rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name.replace("/", ".")), attribute)
    except Exception as error:  # reported to the parent as Lambda reports an init failure
        traceback.print_exc()
        conn.send(_error_reply(error, "Runtime.ImportModuleError"))
        return
    conn.send({"ok": True})
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        request_id, event_json = message
        try:
            result = handler(json.loads(event_json), LambdaContext(spec, request_id))
            conn.send({"ok": True, "payload": json.dumps(result), "max_rss_kb": _max_rss_kb()})
        except Exception as error:
            traceback.print_exc()
            conn.send({**_error_reply(error), "max_rss_kb": _max_rss_kb()})
        finally:
            sys.stdout.flush()
            sys.stderr.flush()


def _max_rss_kb() -> int:
    """Peak resident set of this process in KiB, as Lambda's Max Memory Used: VmHWM
    (getrusage's ru_maxrss keeps the spawning runner's peak across exec on Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _error_reply(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "ok": False,
        "error_type": error_type or type(error).__name__,
        "error_message": str(error),
        "traceback": "".join(traceback.format_exception(error)),
    }


def _redirect_output(log_path: str) -> None:
    """fd-level redirect, so Powertools JSON logs, EMF metrics and anything a C
    extension prints go to the function's log file, not the terminal."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    # The worker's stdout/stderr for its whole life: nothing to close.
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115


def _set_lambda_sys_path(spec: WorkerSpec) -> None:
    """/var/task, then /opt/python, then the runtime's own packages; the runner's
    source tree is dropped so a module missing from the deployed assets fails here
    as it would on Lambda."""
    runtime_roots = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
    runtime_paths = [path for path in sys.path if path and path.startswith(runtime_roots)]
    sys.path[:] = [spec.code_dir, *spec.layer_dirs, *runtime_paths]
