"""How the API documents itself: the OpenAPI document's conventions, stated once.

The document is what partners generate their clients from, so it must type every value
and name every operation. The conventions here apply to every route by default:

- an operation without an ``operationId`` or a summary stops the app from starting;
- every POST takes ``Idempotency-Key``; a route documents each problem status it can
  answer (401 and 503 everywhere; 400, 413, 415 and 422 with a JSON body; 422 with query
  parameters; 404 with an id in the path; 412, and 428 where required, with ``If-Match``)
  as an ``application/problem+json`` response;
- a word of one of the domain's vocabularies is a ``$ref`` to one named enum component;
- a nullable nested object or enum is ``oneOf: [$ref]`` with ``nullable``, so that
  generators try the referenced type (OpenAPI 3.0 has no null type to list beside it).
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from enum import Enum
from http import HTTPStatus
from typing import Any, TypeVar

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask_smorest import Api, Blueprint
from marshmallow import fields

from domain.values import Response, Status
from interfaces.api.problems import PROBLEM_JSON
from interfaces.api.schemas import Cursor, EnumField, ProblemSchema
from interfaces.serve import MAX_REQUEST_LINE

F = TypeVar("F", bound=Callable[..., Any])

# What a command can meet beyond what its shape implies: a role or partnership that does
# not allow it, a domain rule that refuses it (or a concurrent write that won).
WRITE = (403, 409)
# What any request may meet, whatever its route: a request line or header too long, and
# the rate limit of requests with an unknown token.
ANY_REQUEST = (414, 429, 431)

WHY = {
    400: "The body is not valid JSON, or not an object; or a malformed Idempotency-Key.",
    401: "No token where one is needed, or an unknown or revoked token.",
    403: "The caller's role or partnership does not allow this.",
    404: "No such resource, or a partners-only commitment the caller may not see.",
    409: "A domain rule refuses the command, or a concurrent write won the race.",
    412: "If-Match does not match the current version.",
    413: "The body is over 1 MiB.",
    415: "The body is not JSON.",
    422: "Fields missing, of the wrong type or out of range (`errors` says which); "
    "or an Idempotency-Key used before with another request.",
    428: "If-Match is required here.",
    414: f"The request line (the URL with its query) is over {MAX_REQUEST_LINE} bytes.",
    429: "Too many requests with an unknown token from this address; retry after Retry-After seconds.",
    431: "A request header, or all of them together, is too large.",
    503: "The store is busy (see Retry-After).",
}
PROBLEM_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}},
}

IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": 'The ETag of the version the change is based on ("<version>").',
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
    "description": "Repeat a POST safely: the same key and body within 24 hours returns the first response.",
}
JSON_BODY_PROBLEMS = (400, 413, 415, 422)
EVERYWHERE = (401, 503)


def why(status: int) -> str:
    return WHY.get(status, HTTPStatus(status).phrase)


def problems(blp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Documents each status as an ``application/problem+json`` response (the statuses a
    route's shape implies are added by ``OperationConventions``; name the others here)."""

    def decorate(view: F) -> F:
        for status in sorted(set(statuses), reverse=True):
            view = blp.alt_response(
                status,
                schema=ProblemSchema,
                content_type=PROBLEM_JSON,
                description=why(status),
                headers=PROBLEM_HEADERS.get(status),
            )(view)
        return view

    return decorate


def if_match(*, required: bool = False) -> Callable[[F], F]:
    """Documents the ``If-Match`` header beside the route's other parameters (flask-smorest's
    ``@blp.doc(parameters=...)`` would replace those generated from ``@blp.arguments``)."""

    def decorate(view: F) -> F:
        doc = deepcopy(getattr(view, "_apidoc", {}))
        doc.setdefault("arguments", {}).setdefault("parameters", []).append({**IF_MATCH, "required": required})
        view._apidoc = doc  # type: ignore[attr-defined]
        return view

    return decorate


# -- the conventions every operation follows ------------------------------------------


class DocumentError(Exception):
    """The document cannot be made by its conventions: an operation without a name or a
    summary (a generated client would invent one), or two types under one name."""


class OperationConventions(BasePlugin):
    """Completes every operation from its shape, and refuses one without an
    ``operationId`` (``@blp.doc(operationId=...)``) or a summary (the docstring's first line)."""

    def __init__(self, marshmallow: MarshmallowPlugin) -> None:
        self.marshmallow = marshmallow
        self.seen: dict[str, str] = {}

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None, **_: Any) -> None:
        for method, operation in (operations or {}).items():
            where = f"{method.upper()} {path}"
            name = operation.get("operationId")
            if not name or not operation.get("summary"):
                raise DocumentError(f"{where} needs an operationId and a docstring whose first line sums it up")
            if self.seen.setdefault(name, where) != where:
                raise DocumentError(f"{where} and {self.seen[name]} share the operationId {name}")
            parameters = operation.setdefault("parameters", [])
            statuses = {*EVERYWHERE, *ANY_REQUEST}
            if "requestBody" in operation:
                statuses.update(JSON_BODY_PROBLEMS)
            if any(p.get("in") == "query" for p in parameters):
                statuses.add(422)
            if path and "{" in path:
                statuses.add(404)
            if method == "post":
                if not any(p.get("name") == IDEMPOTENCY_KEY["name"] for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_KEY))
                statuses.update((400, 422))
            for parameter in parameters:
                if parameter.get("name") == IF_MATCH["name"]:
                    statuses.update((412, 428) if parameter.get("required") else (412,))
            if not parameters:
                del operation["parameters"]
            # flask-smorest names a component for the 422 of ``@blp.arguments``: a problem replaces it.
            responses = {str(status): response for status, response in operation.get("responses", {}).items()}
            for status in sorted(statuses):
                if not isinstance(responses.get(str(status)), dict):
                    responses[str(status)] = self.problem(status)
            operation["responses"] = responses

    def problem(self, status: int) -> dict[str, Any]:
        resolver = self.marshmallow.resolver
        assert resolver is not None, "the marshmallow plugin is initialised with the spec, before any path"
        schema = resolver.resolve_schema_dict(ProblemSchema)  # type: ignore[no-untyped-call]
        response: dict[str, Any] = {"description": why(status), "content": {PROBLEM_JSON: {"schema": schema}}}
        if status in PROBLEM_HEADERS:
            response["headers"] = deepcopy(PROBLEM_HEADERS[status])
        return response


# -- fields as the document types them --------------------------------------------------

# Vocabularies whose own name is taken, or says too little in a client's namespace.
ENUM_NAMES: dict[type[Enum], str] = {Response: "ResponseValue", Status: "CommitmentStatus"}


def enum_component(converter: Any, field: fields.Field[Any], ret: dict[str, Any]) -> dict[str, Any]:
    """A vocabulary is one named component, referred to by every field that uses it."""
    if not isinstance(field, EnumField):
        return {}
    spec: APISpec = converter.spec
    name = ENUM_NAMES.get(field.enum, field.enum.__name__)
    values = [member.value for member in field.enum]
    known = spec.components.schemas.get(name)
    if known is None:
        component: dict[str, Any] = {"type": "string", "enum": values}
        if field.enum.__dict__.get("__doc__"):
            component["description"] = field.enum.__dict__["__doc__"]
        spec.components.schema(name, component)
    elif known.get("enum") != values:
        raise DocumentError(f"{field.enum.__name__} and another component are both named {name}: see ENUM_NAMES")
    ref = {"$ref": f"#/components/schemas/{name}"}
    rest = {k: v for k, v in ret.items() if k not in ("type", "enum", "nullable")}
    ret.clear()
    if field.allow_none:
        return {"oneOf": [ref], "nullable": True, **rest}
    return {"allOf": [ref], **rest} if rest else ref


def nullable_as_one_of(converter: Any, field: fields.Field[Any], ret: dict[str, Any]) -> dict[str, Any]:
    """apispec writes a nullable reference as ``anyOf: [{type: object, nullable}, {$ref}]``,
    whose untyped first branch matches any object, so generated clients never parse the
    referenced type; ``oneOf: [{$ref}]`` with ``nullable`` says the same and parses."""
    branches = ret.get("anyOf")
    if not (field.allow_none and isinstance(field, fields.Nested) and branches):
        return {}
    refs = [branch for branch in branches if "$ref" in branch]
    del ret["anyOf"]
    return {"oneOf": refs, "nullable": True}


class DocumentedApi(Api):  # type: ignore[misc]
    """flask-smorest's ``Api`` documenting by the conventions above: problems as RFC 9457
    documents, no offset-pagination models (lists page by cursor), operations completed
    and checked by ``OperationConventions``."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app: Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        marshmallow = MarshmallowPlugin()
        conventions = OperationConventions(marshmallow)
        kwargs = {**(spec_kwargs or {}), "marshmallow_plugin": marshmallow, "extra_plugins": [conventions]}
        super().init_app(app, spec_kwargs=kwargs)
        converter = marshmallow.converter
        assert converter is not None, "made when the spec is"
        converter.add_attribute_function(enum_component)  # type: ignore[no-untyped-call]
        converter.add_attribute_function(nullable_as_one_of)  # type: ignore[no-untyped-call]
        self.register_field(Cursor, "string", None)

    def _register_pagination_header(self) -> None:
        """Lists page by cursor in their bodies: flask-smorest's pagination header, and
        the ``PaginationMetadata`` model it brings, are never used."""
