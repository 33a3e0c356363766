"""Read what the local runner needs from a synthesized CloudFormation template:
references between resources and the API Gateway resource tree."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiRoute:
    """One API Gateway resource (path template such as /sessions/{id}) and its methods."""

    path: str
    methods: frozenset[str]  # HTTP verbs; "ANY" matches every verb


class StackTemplate:
    def __init__(self, body: Mapping[str, Any]) -> None:
        self._resources: Mapping[str, Mapping[str, Any]] = body.get("Resources", {})

    def logical_ids(self, resource_type: str) -> list[str]:
        return [lid for lid, res in self._resources.items() if res.get("Type") == resource_type]

    def type_of(self, logical_id: str) -> str | None:
        return self._resources.get(logical_id, {}).get("Type")

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        return self._resources.get(logical_id, {}).get("Properties", {})

    def construct_path(self, logical_id: str) -> str:
        return str(self._resources.get(logical_id, {}).get("Metadata", {}).get("aws:cdk:path", ""))

    @staticmethod
    def referenced_logical_ids(values: list[Any]) -> list[str]:
        """Logical ids named by {"Ref": ...} entries of a list (literal ARNs skipped)."""
        return [value["Ref"] for value in values if isinstance(value, Mapping) and "Ref" in value]

    @staticmethod
    def get_att_logical_id(value: Any) -> str | None:
        """The logical id of the first Fn::GetAtt found anywhere inside `value`."""
        if isinstance(value, Mapping):
            if "Fn::GetAtt" in value:
                target = value["Fn::GetAtt"]
                return target[0] if isinstance(target, list) else str(target).split(".")[0]
            for inner in value.values():
                found = StackTemplate.get_att_logical_id(inner)
                if found:
                    return found
        if isinstance(value, list):
            for inner in value:
                found = StackTemplate.get_att_logical_id(inner)
                if found:
                    return found
        return None

    def api_routes(self, rest_api_id: str) -> tuple[tuple[ApiRoute, ...], str | None]:
        """Every resource path of the REST API with its methods, and the Lambda
        function (logical id) its proxy integrations call."""
        paths = {rest_api_id: "/"}  # the root resource answers to the API's own id

        def path_of(logical_id: str) -> str:
            if logical_id not in paths:
                properties = self.properties(logical_id)
                parent = properties.get("ParentId", {})
                parent_id = parent.get("Ref") if "Ref" in parent else self.get_att_logical_id(parent)
                parent_path = path_of(parent_id) if parent_id else "/"
                paths[logical_id] = parent_path.rstrip("/") + "/" + properties["PathPart"]
            return paths[logical_id]

        methods: dict[str, set[str]] = {}
        function_ids: set[str] = set()
        for method_id in self.logical_ids("AWS::ApiGateway::Method"):
            properties = self.properties(method_id)
            if properties.get("HttpMethod") == "OPTIONS":
                continue  # CORS preflight mocks, not the function
            resource = properties.get("ResourceId", {})
            resource_id = resource.get("Ref") if "Ref" in resource else rest_api_id
            methods.setdefault(path_of(resource_id), set()).add(properties["HttpMethod"])
            function_id = self.get_att_logical_id(properties.get("Integration", {}).get("Uri"))
            if function_id and self.type_of(function_id) == "AWS::Lambda::Function":
                function_ids.add(function_id)
        if len(function_ids) > 1:
            raise ValueError(f"the API calls several functions {sorted(function_ids)}; one is supported")
        routes = tuple(ApiRoute(path, frozenset(verbs)) for path, verbs in sorted(methods.items()))
        return routes, next(iter(function_ids), None)

    def api_stage_name(self) -> str:
        for resource_type in ("AWS::ApiGateway::Stage", "AWS::ApiGateway::Deployment"):
            for logical_id in self.logical_ids(resource_type):
                name = self.properties(logical_id).get("StageName")
                if isinstance(name, str):
                    return name
        return "prod"
