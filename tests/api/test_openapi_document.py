"""The OpenAPI document is what partners generate their clients from: every operation is
named and summarised, every problem status the contract gives it is documented as a
problem document, dates, instants and vocabularies are typed, optional query parameters
are optional rather than nullable, and no model is left that nothing uses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from flask.testing import FlaskClient

from application.credentials import MadeWith
from domain.values import (
    ActionStatus,
    ActorRole,
    AssessmentStage,
    Completion,
    OgpValue,
    OpenedGovernment,
    PartnerKind,
    PartnerRole,
    PlanStatus,
    Response,
    Status,
    Visibility,
)
from interfaces.app import create_app
from tests.api.conftest import Callers

API = "/api/v1"
PROBLEM = {"$ref": "#/components/schemas/Problem"}
BODY = {400, 413, 415, 422}
COMMAND = {401, 403, 404, 409, 412, 503} | BODY

# The contract (docs/api.md), operation by operation: the statuses its general table gives each one (401 on
# every route, for an unknown token; 503 wherever the store is read; 422 wherever a query or
# body is validated or an Idempotency-Key is reused; 404 for an id in the path ...).
CONTRACT: dict[tuple[str, str], set[int]] = {
    ("get", "/commitments"): {401, 422, 503},
    ("post", "/commitments"): {401, 403, 409, 503} | BODY,
    ("get", "/commitments/{commitment_id}"): {401, 404, 422, 503},
    ("patch", "/commitments/{commitment_id}"): COMMAND | {428},
    ("post", "/commitments/{commitment_id}/partners"): COMMAND,
    ("delete", "/commitments/{commitment_id}/partners/{partner_id}"): COMMAND,
    ("post", "/commitments/{commitment_id}/milestones"): COMMAND,
    ("patch", "/commitments/{commitment_id}/milestones/{milestone_id}"): COMMAND | {428},
    ("post", "/commitments/{commitment_id}/milestones/{milestone_id}/reached"): COMMAND,
    ("post", "/commitments/{commitment_id}/actions"): COMMAND,
    ("get", "/commitments/{commitment_id}/actions/{action_id}"): {401, 404, 503},
    ("post", "/commitments/{commitment_id}/actions/{action_id}/withdrawal"): COMMAND,
    ("post", "/commitments/{commitment_id}/actions/{action_id}/responses"): COMMAND,
    ("post", "/commitments/{commitment_id}/progress"): COMMAND,
    ("get", "/commitments/{commitment_id}/assessments"): {401, 404, 503},
    ("post", "/commitments/{commitment_id}/assessments"): COMMAND,
    ("post", "/commitments/{commitment_id}/withdrawal"): COMMAND,
    ("get", "/commitments/{commitment_id}/timeline"): {401, 404, 422, 503},
    ("get", "/commitments/{commitment_id}/events"): {401, 403, 404, 503},
    ("get", "/commitments/{commitment_id}/diff"): {401, 404, 422, 503},
    ("get", "/plans"): {401, 503},
    ("post", "/plans"): {401, 403, 409, 503} | BODY,
    ("get", "/plans/{plan_id}"): {401, 404, 503},
    ("patch", "/plans/{plan_id}"): COMMAND | {428},
    ("get", "/partners"): {401, 422, 503},
    ("post", "/partners"): {401, 403, 503} | BODY,
    ("get", "/partners/{partner_id}"): {401, 404, 503},
    ("patch", "/partners/{partner_id}"): COMMAND,
    ("get", "/partners/{partner_id}/timeline"): {401, 403, 404, 422, 503},
    ("get", "/tokens"): {401, 403, 503},
    ("post", "/tokens"): {401, 403, 503} | BODY,
    ("delete", "/tokens/{token_id}"): {401, 403, 404, 503},
    ("get", "/feed-tokens"): {401, 403, 503},
    ("post", "/feed-tokens"): {401, 403, 409, 503} | BODY,
    ("delete", "/feed-tokens/{feed_token_id}"): {401, 403, 404, 503},
    ("get", "/events"): {401, 403, 422, 503},
    ("get", "/audit/checkpoint"): {401, 503},
    ("get", "/audit/checkpoints"): {401, 422, 503},
    ("get", "/audit/public-key"): {401, 503},
    ("get", "/audit/proofs/inclusion"): {401, 422, 503},
    ("get", "/audit/proofs/consistency"): {401, 422, 503},
    ("post", "/audit/verifications"): {400, 401, 403, 422, 503},
    ("get", "/export/events.jsonl"): {401, 403, 503},
    ("get", "/export/commitments.csv"): {401, 503},
    ("get", "/export/commitments.json"): {401, 503},
    ("get", "/export/milestones.csv"): {401, 503},
    ("post", "/imports"): {401, 403, 409, 503} | BODY,
}

# Response fields whose values are a vocabulary of the domain, and the vocabulary.
VOCABULARIES: dict[str, type[Enum]] = {
    "status": Status,
    "visibility": Visibility,
    "completion": Completion,
    "ogp_values": OgpValue,
    "response": Response,
    "kind": PartnerKind,
    "made_with": MadeWith,
    "stage": AssessmentStage,
    "did_it_open_government": OpenedGovernment,
    "assessed_completion": Completion,
}
ROLE_VOCABULARY = {"Membership": PartnerRole, "PartnerAdd": PartnerRole}
# Fields whose vocabulary depends on the model they are in.
MODEL_VOCABULARY: dict[tuple[str, str], type[Enum]] = (
    {(model, "status"): ActionStatus for model in ("Action", "ActionRecorded")}
    | {(model, "completion"): Completion for model in ("Assessment", "AssessmentRecord", "AssessmentRecorded")}
    | {(model, "status"): PlanStatus for model in ("Plan", "PlanChanged", "PlanCreate", "PlanAmend")}
)
OPEN_FIELDS = {
    ("TimelineEntry", "kind"): "names the event an entry tells of; new events bring new kinds",
    ("Problem", "status"): "the HTTP status code, a number",
}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("openapi")
    app = create_app({"DATABASE_URL": "sqlite:///:memory:", "TESTING": True, "INSTANCE_PATH": str(folder)})
    try:
        response = app.test_client().get(f"{API}/openapi.json")
        assert response.status_code == 200
        yield response.get_json()
    finally:
        app.extensions["tutahi"].close()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path.removeprefix(API), operation


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def referenced(schema: dict[str, Any]) -> str | None:
    """The component a property is, directly or as the one branch of allOf/oneOf."""
    branches = schema.get("allOf") or schema.get("oneOf") or [schema]
    refs = [branch["$ref"] for branch in branches if "$ref" in branch]
    return refs[0].rsplit("/", 1)[1] if len(refs) == 1 and len(branches) == 1 else None


def test_the_contract_in_docs_lists_exactly_the_served_operations(document: dict[str, Any]) -> None:
    """docs/api.md is the contract a reader has without a running service: its table of
    operations must be the served document's, no more and no fewer."""
    text = Path(__file__).resolve().parents[2].joinpath("docs/api.md").read_text(encoding="utf-8")
    listed = {
        (method.lower(), path.removeprefix(API))
        for method, path in re.findall(r"^\| `(GET|POST|PATCH|DELETE|PUT) (/api/v1/[^`]*)` \|", text, re.M)
    }
    assert listed == {(method, path) for method, path, _ in operations(document)}


def test_every_operation_has_a_stable_name_and_a_one_line_summary(document: dict[str, Any]) -> None:
    names = [operation.get("operationId") for _, _, operation in operations(document)]
    assert all(isinstance(name, str) and re.fullmatch(r"[a-z][A-Za-z]+", name) for name in names), names
    assert len(set(names)) == len(names), "operation ids are unique"
    for method, path, operation in operations(document):
        summary = operation.get("summary", "")
        assert summary and "\n" not in summary and not summary.endswith(","), (method, path, summary)
    assert {(method, path) for method, path, _ in operations(document)} == set(CONTRACT), "the table covers all"


@pytest.mark.parametrize(("method", "path"), list(CONTRACT), ids=lambda x: str(x))
def test_every_status_the_contract_gives_an_operation_is_a_problem_document(
    document: dict[str, Any], method: str, path: str
) -> None:
    responses = document["paths"][API + path][method]["responses"]
    missing = sorted(CONTRACT[method, path] - {int(status) for status in responses})
    assert not missing, f"{method.upper()} {path} does not document {missing}"
    for status, response in responses.items():
        if int(status) >= 400:
            assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, (path, status)
            assert response["description"], (path, status)
    if 401 in CONTRACT[method, path]:
        assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "Retry-After" in responses["503"]["headers"]


def typed(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """What a property's values are: an array's items, a referenced component, or itself."""
    item = schema.get("items", schema)
    name = referenced(item)
    return resolve(document, {"$ref": f"#/components/schemas/{name}"}) if name else item


def test_dates_instants_and_vocabularies_are_typed_in_every_model(document: dict[str, Any]) -> None:
    checked = {"date": 0, "date-time": 0, "enum": 0}
    for name, model in document["components"]["schemas"].items():
        for field, schema in model.get("properties", {}).items():
            values = typed(document, schema)
            if field.endswith("_on") or field == "as_of":  # a report's as_of is the date it describes
                assert values.get("format") == "date", (name, field, schema)
                checked["date"] += 1
            elif field.endswith("_at"):
                assert values.get("format") == "date-time", (name, field, schema)
                checked["date-time"] += 1
            vocabulary = (
                ROLE_VOCABULARY.get(name, ActorRole)
                if field == "role"
                else MODEL_VOCABULARY.get((name, field), VOCABULARIES.get(field))
            )
            if vocabulary is None or (name, field) in OPEN_FIELDS or values.get("type") == "object":
                continue  # a nested report (a commitment's completion, a recorded response) is its own model
            assert values.get("enum") == [member.value for member in vocabulary], (name, field, schema)
            checked["enum"] += 1
    # Enough of each that a field type dropped anywhere would have been met.
    assert checked["date"] >= 10 and checked["date-time"] >= 15 and checked["enum"] >= 20, checked


def test_a_commitments_completion_is_a_progress_report_or_null(document: dict[str, Any]) -> None:
    for model in ("Commitment", "CommitmentChanged"):
        completion = document["components"]["schemas"][model]["properties"]["completion"]
        # The first (only) branch is the report itself: no untyped object a generator would try first.
        assert completion == {"oneOf": [{"$ref": "#/components/schemas/Progress"}], "nullable": True}
    progress = document["components"]["schemas"]["Progress"]
    assert set(progress["required"]) == {"completion", "note", "as_of", "reported_at"}


def test_every_vocabulary_is_one_component_and_every_model_is_used(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    enums = {name: tuple(schema["enum"]) for name, schema in schemas.items() if "enum" in schema}
    assert len(set(enums.values())) == len(enums), f"one component per vocabulary: {enums}"

    inline: list[str] = []

    def walk(node: Any, where: str, top: bool) -> None:
        if isinstance(node, dict):
            if "enum" in node and not top:
                inline.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}", False)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}", False)

    walk(document["paths"], "paths", False)
    for name, schema in schemas.items():
        walk(schema, name, True)
    assert not inline, f"enums written out in place rather than as a component: {inline}"

    used: set[str] = set()
    pending = [document["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            name = ref.rsplit("/", 1)[1] if ref.startswith("#/components/schemas/") else None
            if name and name not in used:
                used.add(name)
                pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    assert set(schemas) == used, f"models nothing uses: {sorted(set(schemas) - used)}"
    assert "Error" not in schemas and "PaginationMetadata" not in schemas


def test_optional_query_parameters_are_optional_not_nullable(document: dict[str, Any]) -> None:
    queries = [
        (path, parameter)
        for _, path, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]
    assert len(queries) >= 20
    for path, parameter in queries:
        schema = parameter["schema"]
        assert not schema.get("nullable") and schema.get("default", "") is not None, (path, parameter)
    status = next(p for path, p in queries if path == "/commitments" and p["name"] == "status")
    assert status["schema"] == {"$ref": "#/components/schemas/CommitmentStatus"}


def test_removing_a_partner_documents_its_reason_beside_if_match(document: dict[str, Any]) -> None:
    operation = document["paths"][f"{API}/commitments/{{commitment_id}}/partners/{{partner_id}}"]["delete"]
    parameters = {(p["in"], p["name"]): p for p in operation["parameters"]}
    assert ("query", "reason") in parameters and ("header", "If-Match") in parameters
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReasonBody"
    }


def test_a_list_takes_back_the_cursor_it_returns_as_the_same_type(document: dict[str, Any]) -> None:
    pairs = 0
    for method, path, operation in operations(document):
        cursors = [p for p in operation.get("parameters", []) if p["name"] in ("after", "before")]
        if method != "get" or not cursors:
            continue
        content = operation["responses"]["200"]["content"]["application/json"]
        page = resolve(document, content["schema"])
        if "next" not in page.get("properties", {}):
            continue
        assert cursors[0]["schema"]["type"] == page["properties"]["next"]["type"], (path, cursors[0])
        pairs += 1
    assert pairs >= 5, "events, checkpoints, commitments, partners and timelines page by cursor"


def test_every_post_documents_idempotency_key_and_honours_it(
    document: dict[str, Any], client: FlaskClient, callers: Callers
) -> None:
    """A malformed key is refused before anything else is looked at, on every POST the
    document lists (made by a caller whose role lets it through)."""
    posts = [(path, operation) for method, path, operation in operations(document) if method == "post"]
    assert len(posts) >= 11
    for path, operation in posts:
        assert any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation["parameters"]), (
            f"POST {path} does not document Idempotency-Key"
        )
        url = API + re.sub(r"\{[a-z_]+\}", lambda _: str(uuid4()), path)
        answers = []
        for caller in (callers.lead, callers.admin, callers.auditor):
            response = client.post(url, json={}, headers={**caller.headers, "Idempotency-Key": "not visible ASCII"})
            answers.append((response.status_code, (response.get_json() or {}).get("type")))
        assert (400, "urn:tutahi:problem:bad-idempotency-key") in answers, (path, answers)
        assert all(status >= 400 for status, _ in answers), (path, answers)
