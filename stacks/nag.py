"""cdk-nag (AwsSolutions) acknowledgments: each finding this stack keeps on purpose,
on the narrowest construct that has it, with the reason. Everything else the pack
reports is fixed in the constructs (exact IAM actions, newest runtime, access logs,
a request validator, the function roles' own log grants); app.py runs the pack on every synth
and tests/infrastructure/test_nag.py asserts no finding is left unacknowledged."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from stacks.needs import UPLOAD_ROLES

PACK = "AwsSolutions"  # the plugin's name: acknowledgment ids are `<pack>::<rule>`
IAM4_API_ROLE = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]"
)
PUBLIC_API = (
    "The API is public by design, like the original app: a session is addressed by an unguessable "
    "UUID returned only to its creator (a capability URL), requests are throttled per stage, and "
    "API keys with usage plans are a deploy option; there are no user accounts to authorize."
)
REASONS: dict[str, str] = {
    "AwsSolutions-APIG3": (
        "No WAF web ACL: the stage's throttling bounds abuse, and a web ACL adds a monthly and "
        "per-request charge this project does not need; attach one per deployment if required."
    ),
    "AwsSolutions-APIG4": PUBLIC_API,
    "AwsSolutions-COG4": PUBLIC_API,
    "AwsSolutions-APIG6": (
        "No execution logging: API Gateway writes it to a log group it creates outside the stack "
        "with no retention (kept forever, out of reach of DELETE and of the stack's removal); the "
        "stage's access log (APIG1) and the api function's own log cover every request."
    ),
    "AwsSolutions-S1": (
        "No server access logs for the uploads bucket: it holds each export for at most a day, "
        "only the api writes it, only query_activities reads it, and an access-log bucket "
        "would keep session ids (object keys) longer than the objects themselves."
    ),
    "AwsSolutions-SMG4": (
        "Gandalf, TMDB and OpenAI credentials are issued by those services; Secrets Manager "
        "cannot rotate them. Rotation is by hand with put-secret-value (see the stack outputs)."
    ),
    "AwsSolutions-SQS3": (
        "This is the progress tracker's stream on-failure destination (the event source mapping's "
        "DLQ, kept 14 days), not a stage queue: nothing reads it to redrive, so it needs no DLQ."
    ),
    IAM4_API_ROLE: (
        "The account-level role API Gateway needs to write the access log; AWS keeps this managed "
        "policy to the log actions API Gateway uses."
    ),
    "AwsSolutions-IAM5[Resource::*]": (
        "Only actions without resource-level permissions: xray:PutTraceSegments and "
        "xray:PutTelemetryRecords (active tracing) and, for the tracker, dynamodb:ListStreams "
        "(stream discovery by the event source mapping)."
    ),
}
UPLOAD_OBJECTS = (
    "Exact object actions on the `uploads/` prefix: each export is stored under its session id "
    "(uploads/<session id>.csv), so the object ARN ends in a wildcard; no listing, no bucket actions."
)


def acknowledge_findings(stack: Stack) -> None:
    """Each kept finding on the constructs that have it (so the same rule anywhere
    else in the stack still fails the synth)."""
    scopes = _scopes(stack)
    for rule, reason in REASONS.items():
        for scope in scopes[rule]:
            _acknowledge(scope, rule, reason)
    bucket = stack.stores.uploads.node.default_child  # type: ignore[attr-defined]
    uploads = f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(bucket)}.Arn>/uploads/*]"
    for directory in UPLOAD_ROLES:
        _acknowledge(stack.functions[directory].role, uploads, UPLOAD_OBJECTS)  # type: ignore[attr-defined]
    incoming = f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(bucket)}.Arn>/uploads/incoming/*]"
    _acknowledge(stack.functions["api"].role, incoming, INCOMING_OBJECTS)  # type: ignore[attr-defined]


INCOMING_OBJECTS = (
    "Read of presigned uploads only (uploads/incoming/<upload id>.csv, a random id per upload), "
    "so POST /sessions {uploadId} can check and move one; never a session's export."
)


def _scopes(stack) -> dict[str, list[IConstruct]]:  # stack: stacks.pipeline_stack.PipelineStack
    api = [stack.api]
    return {
        "AwsSolutions-APIG3": api,
        "AwsSolutions-APIG4": api,
        "AwsSolutions-COG4": api,
        "AwsSolutions-APIG6": api,
        IAM4_API_ROLE: api,
        "AwsSolutions-S1": [stack.stores.uploads],
        "AwsSolutions-SMG4": list(stack.secrets.values()),
        "AwsSolutions-SQS3": [stack.stream.failure_queue],
        "AwsSolutions-IAM5[Resource::*]": [function.role for function in stack.functions.values()],
    }


def _acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{rule}", reason=reason))
