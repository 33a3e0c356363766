"""Read-only questions about a synthesized template, by intent rather than by id.

Functions are found by their POWERTOOLS_SERVICE_NAME (the lambdas/<dir> name), so
tests do not depend on CDK's hashed logical ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Grant:
    """One (action, resource) pair of an Allow statement attached to a role."""

    action: str
    resource: Any  # a literal ARN/"*" or an intrinsic ({"Fn::GetAtt": ...}, {"Fn::Join": ...})

    @property
    def resource_ids(self) -> frozenset[str]:
        return frozenset(referenced_ids(self.resource))


def referenced_ids(value: Any) -> Iterator[str]:
    """Logical ids a value refers to (Ref / Fn::GetAtt, at any depth)."""
    if isinstance(value, dict):
        if "Ref" in value and not str(value["Ref"]).startswith("AWS::"):
            yield value["Ref"]
        elif "Fn::GetAtt" in value:
            yield value["Fn::GetAtt"][0]
        else:
            for inner in value.values():
                yield from referenced_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from referenced_ids(inner)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> str:
    """A string with each GetAtt/Ref replaced by `<id>` (to read joined JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(part) for part in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<" + ".".join(value["Fn::GetAtt"]) + ">"
    if isinstance(value, dict) and "Ref" in value:
        return "<" + value["Ref"] + ">"
    raise ValueError(f"cannot render {value!r}")


class TemplateQueries:
    def __init__(self, template: dict[str, Any]) -> None:
        self.template = template
        self.resources: dict[str, dict[str, Any]] = template["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == resource_type}

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})

    # -- functions ------------------------------------------------------------

    def function_ids(self) -> dict[str, str]:
        """lambdas/<dir> name -> function logical id."""
        found = {}
        for lid, function in self.of_type("AWS::Lambda::Function").items():
            service = function["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
            found[service] = lid
        return found

    def function_id(self, directory: str) -> str:
        return self.function_ids()[directory]

    def function(self, directory: str) -> dict[str, Any]:
        return self.props(self.function_id(directory))

    def environment(self, directory: str) -> dict[str, Any]:
        return self.function(directory)["Environment"]["Variables"]

    def role_id(self, directory: str) -> str:
        return self.function(directory)["Role"]["Fn::GetAtt"][0]

    def grants(self, directory: str) -> list[Grant]:
        """Every (action, resource) of the Allow statements on the function's role."""
        role = self.role_id(directory)
        pairs = []
        for policy in self.of_type("AWS::IAM::Policy").values():
            props = policy["Properties"]
            if {"Ref": role} not in props["Roles"]:
                continue
            for statement in props["PolicyDocument"]["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                for action in as_list(statement["Action"]):
                    for resource in as_list(statement["Resource"]):
                        pairs.append(Grant(action, resource))
        return pairs

    def granted_ids(self, directory: str, action: str) -> set[str]:
        """Logical ids the function's role may use `action` on."""
        return {rid for grant in self.grants(directory) if grant.action == action for rid in grant.resource_ids}

    # -- queues and mappings ----------------------------------------------------

    def mappings_of(self, directory: str) -> list[dict[str, Any]]:
        function = self.function_id(directory)
        return [
            m["Properties"]
            for m in self.of_type("AWS::Lambda::EventSourceMapping").values()
            if m["Properties"]["FunctionName"] == {"Ref": function}
        ]

    def queue_feeding(self, directory: str) -> str:
        """The logical id of the one SQS queue mapped to a queue-worker function
        (a queue with a redrive policy, i.e. not a DLQ)."""
        queues = [
            rid
            for mapping in self.mappings_of(directory)
            for rid in referenced_ids(mapping["EventSourceArn"])
            if self.resources[rid]["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in self.props(rid)
        ]
        assert len(queues) == 1, f"{directory} is fed by {queues}"
        return queues[0]

    def dead_letter_queue_of(self, queue_id: str) -> str:
        target = self.props(queue_id)["RedrivePolicy"]["deadLetterTargetArn"]
        return next(referenced_ids(target))

    def queue_policies(self, queue_id: str) -> list[dict[str, Any]]:
        return [
            statement
            for policy in self.of_type("AWS::SQS::QueuePolicy").values()
            if {"Ref": queue_id} in policy["Properties"]["Queues"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]

    def joined_json(self, value: Any) -> Any:
        """Parse a Fn::Join that builds JSON, GetAtt/Ref shown as `<id.attr>`."""
        return json.loads(render(value))
