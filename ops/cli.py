"""The operator's command line.

    python -m ops [--stack-name TvReportPipeline] [--endpoint-url URL] [--region R] [--json] COMMAND
        session ID          state, stage percentages, counters, ledger, where each chunk is
        dlq                 the messages in every stage's DLQ, with their session and chunk
        redrive STAGE       move a stage's DLQ back to its queue
        retry-failed ID     re-run a crunching session's dead-lettered chunks (counted once)
        cancel ID           end a session FAILED with reason CANCELLED

Exit codes: 0 done, 1 not found (session or stack), 2 usage, 3 refused (the
session's state does not allow it; nothing changed), 4 AWS refused a call (its
error code and message are printed).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ops.stack import QUEUE_STAGES

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_REFUSED, EXIT_AWS_ERROR = 0, 1, 2, 3, 4
DEFAULT_STACK = "TvReportPipeline"  # app.STACK_NAME (not imported: app pulls in aws_cdk)
# moto (the local embedded AWS) accepts any credentials; these are its documented fakes.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _common_options(suppress_defaults: bool) -> argparse.ArgumentParser:
    """Options accepted before and after the command. After it, their defaults are
    suppressed, or the command's defaults would overwrite what came before it."""
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress_defaults else value

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack-name", default=default(DEFAULT_STACK),
                        help=f"CloudFormation stack (default {DEFAULT_STACK})")
    common.add_argument("--endpoint-url", default=default(None),
                        help="the local embedded AWS (moto), e.g. the URL `local serve` prints")
    common.add_argument("--region", default=default(None), help="AWS region (default: the AWS configuration's)")
    common.add_argument("--json", action="store_true", default=default(False), help="print JSON instead of tables")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n\n")[0],
                                     parents=[_common_options(False)])
    common = _common_options(True)
    commands = parser.add_subparsers(dest="command", required=True)
    session = commands.add_parser("session", parents=[common], help="where a session and each of its chunks are")
    session.add_argument("session_id")
    dlq = commands.add_parser("dlq", parents=[common], help="messages in every stage's DLQ")
    dlq.add_argument("--max", type=int, default=100, help="messages looked at per DLQ (default 100)")
    redrive = commands.add_parser("redrive", parents=[common], help="move a stage's DLQ back to its queue")
    redrive.add_argument("stage", choices=sorted(QUEUE_STAGES))
    redrive.add_argument("--method", choices=["move-task", "copy"],
                         help="SQS StartMessageMoveTask (default on AWS) or receive-send-delete "
                              "(default with --endpoint-url: moto 5.2.5 has no move tasks)")
    retry = commands.add_parser("retry-failed", parents=[common], help="re-run a session's dead-lettered chunks")
    retry.add_argument("session_id")
    cancel = commands.add_parser("cancel", parents=[common], help="end a session FAILED with reason CANCELLED")
    cancel.add_argument("session_id")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 on --help
        return int(exit_.code or 0)
    if args.command == "dlq" and args.max < 1:
        print("--max must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    # The layer logs through Powertools to stdout, where `--json` output goes.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    _point_at(args.endpoint_url, args.region)

    from botocore.exceptions import BotoCoreError, ClientError

    from ops import stack
    from ops.commands import NotFound, Ops, Refused

    try:
        ops = Ops(stack.load(args.stack_name))
        result = _dispatch(ops, args)
    except (NotFound, stack.StackNotFound) as error:
        return _fail(args, str(error), EXIT_NOT_FOUND)
    except Refused as error:
        return _fail(args, str(error), EXIT_REFUSED)
    except ClientError as error:  # throttling, permissions, an operation the endpoint lacks
        details = error.response.get("Error", {})
        message = f"{error.operation_name}: {details.get('Code')}: {str(details.get('Message', ''))[:300]}"
        return _fail(args, f"AWS refused {message}", EXIT_AWS_ERROR)
    except BotoCoreError as error:  # no credentials, endpoint unreachable
        return _fail(args, f"AWS could not be called: {error}", EXIT_AWS_ERROR)
    _print(args, result)
    return EXIT_OK


def _point_at(endpoint_url: str | None, region: str | None) -> None:
    """Every boto3 client made from here on (ours and the layer's) talks to this
    endpoint and region: AWS_ENDPOINT_URL is boto3's own setting."""
    from tvreport import aws

    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        for key, value in LOCAL_CREDENTIALS.items():
            os.environ.setdefault(key, value)
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the local runner's region
    if region:
        os.environ["AWS_DEFAULT_REGION"] = region
    aws.reset()


def _dispatch(ops: Any, args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "session":
        return ops.session(args.session_id)
    if args.command == "dlq":
        return ops.dead_letters(args.max)
    if args.command == "redrive":
        method = args.method or ("copy" if args.endpoint_url else "move-task")
        return ops.redrive(args.stage, method)
    if args.command == "retry-failed":
        return ops.retry_failed(args.session_id)
    return ops.cancel(args.session_id)


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    if args.json:
        print(json.dumps({"error": message}))
    else:
        print(message, file=sys.stderr)
    return code


def _print(args: argparse.Namespace, result: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    from rich.console import Console

    from ops import render

    console = Console()
    if not console.is_terminal:  # piped or captured: no terminal width to fit, keep cells whole
        console = Console(width=160)
    render.RENDERERS[args.command](console, result)
