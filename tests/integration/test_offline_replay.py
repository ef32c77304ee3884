"""Offline replay: ``tutahi audit replay EXPORT`` rebuilds commitments from an export file
alone (no store, no service) with the service's own domain code, and shows each exactly
as ``GET /api/v1/commitments/{id}`` does: at the latest version, at every version
(``--version`` / ``?version=``) and at every recorded instant (``--as-of`` / ``?as_of=``),
for every commitment of the demo and a partners-only one with every kind of command, for
random command sequences, and for an export made by release 0.1.0. A damaged export or
a question the export cannot answer is a one-line error, never a guess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, note, settings

from application.replay import ReplayError, replay
from domain.values import ActorRole
from interfaces.api.schemas import CommitmentSchema
from interfaces.app import create_app
from interfaces.cli import main
from tests.audit_store import populate
from tests.conftest import make_world
from tests.integration.test_replay_property import Scenario, open_snappy_ledger, play, scenarios, start

FIXTURE = Path(__file__).parent.parent / "fixtures" / "store-0.1.0"


class Service:
    """The service on a SQLite file, read over HTTP by an auditor (who sees every commitment)."""

    def __init__(self, url: str, instance: Path) -> None:
        self.app: Flask = create_app({"DATABASE_URL": url, "TESTING": True, "INSTANCE_PATH": str(instance)})
        services = self.app.extensions["tutahi"]
        self.ledger = services.ledger
        token = services.credentials.issue(ActorRole.AUDITOR, name="Auditor-General", now=datetime.now(UTC)).token
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client: FlaskClient = self.app.test_client()

    def get(self, commitment_id: str, query: str = "") -> tuple[int, Any]:
        response = self.client.get(f"/api/v1/commitments/{commitment_id}{query}", headers=self.headers)
        return response.status_code, response.get_json()

    def history(self, commitment_id: str) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/commitments/{commitment_id}/events", headers=self.headers)
        assert response.status_code == 200
        items: list[dict[str, Any]] = response.get_json()
        return items if isinstance(items, list) else response.get_json()["items"]

    def export(self, path: Path) -> Path:
        with path.open("wb") as handle:
            for chunk in self.app.extensions["tutahi"].auditor.export_chunks():
                handle.write(chunk)
        return path

    def commitment_ids(self) -> list[str]:
        page = self.client.get("/api/v1/commitments?limit=1000", headers=self.headers).get_json()
        return [item["id"] for item in page["items"]]

    def close(self) -> None:
        self.app.extensions["tutahi"].close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    served = Service(f"sqlite:///{tmp_path}/replay.db", tmp_path / "instance")
    try:
        yield served
    finally:
        served.close()


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["audit", "replay", *args])


def replayed(export: Path, *args: str) -> Any:
    result = cli(str(export), *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_commitment_replays_as_the_service_shows_it_at_every_version_and_instant(
    service: Service, tmp_path: Path
) -> None:
    populate(service.ledger)
    export = service.export(tmp_path / "log.jsonl")
    ids = service.commitment_ids()
    assert len(ids) == 5  # the demo's four and the partners-only one

    every = [json.loads(line) for line in cli(str(export), "--all").stdout.splitlines()]
    assert {document["id"] for document in every} == set(ids)
    for commitment_id in ids:
        status, current = service.get(commitment_id)
        assert status == 200
        assert replayed(export, "--commitment", commitment_id) == current
        assert next(d for d in every if d["id"] == commitment_id) == current
        history = service.history(commitment_id)
        assert len(history) == current["version"] > 1
        for entry in history:
            version, at = entry["version"], entry["recorded_at"]
            assert (
                replayed(export, "--commitment", commitment_id, "--version", str(version))
                == (service.get(commitment_id, f"?version={version}")[1])
            )
            assert (
                replayed(export, "--commitment", commitment_id, "--as-of", at)
                == (service.get(commitment_id, f"?as_of={quote(at)}")[1])
            )
        before = (datetime.fromisoformat(history[0]["recorded_at"]) - timedelta(microseconds=1)).isoformat()
        assert service.get(commitment_id, f"?as_of={quote(before)}")[0] == 404
        refused = cli(str(export), "--commitment", commitment_id, "--as-of", before)
        assert refused.exit_code != 0 and "did not exist yet" in refused.output


def test_random_command_sequences_replay_offline_as_the_service_shows_them(service: Service, tmp_path: Path) -> None:
    """The commands of RL6's property (tests/integration/test_replay_property.py), on the
    service's own store; after each sequence, the whole log is exported and replayed."""
    store = str(service.ledger.env["SQLALCHEMY_URL"])
    commander = open_snappy_ledger(store)
    actors = vars(make_world(commander))
    schema = CommitmentSchema()
    count = [0]

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(scenario=scenarios)
    def each(scenario: Scenario) -> None:
        note(repr(scenario))
        run = start(commander, actors, scenario)
        play(run, scenario)
        count[0] += 1
        export = service.export(tmp_path / f"log-{count[0]}.jsonl")
        lines = export.read_bytes().splitlines()
        commitment_id = str(run.id)
        status, current = service.get(commitment_id)
        assert status == 200 and current["version"] == 1 + run.accepted + 1  # created, plus DIA's own joining
        assert schema.dump(replay(lines, run.id)[0]) == current
        for version in range(1, current["version"] + 1):
            expected = service.get(commitment_id, f"?version={version}")[1]
            assert schema.dump(replay(lines, run.id, version=version)[0]) == expected
        for entry in service.history(commitment_id):
            at = datetime.fromisoformat(entry["recorded_at"])
            expected = service.get(commitment_id, f"?as_of={quote(entry['recorded_at'])}")[1]
            assert schema.dump(replay(lines, run.id, as_of=at)[0]) == expected

    try:
        each()
    finally:
        commander.close()


def test_lines_that_are_not_the_stored_bytes_replay_alike(service: Service, tmp_path: Path) -> None:
    """An export whose lines were re-serialised (other key order, other spacing, escaped
    non-ASCII, as release 0.1.0 and other tools write JSON) replays the same: its
    documents are canonicalised (RFC 8785) before their leaves are checked."""
    populate(service.ledger)
    export = service.export(tmp_path / "log.jsonl")
    rewritten = tmp_path / "rewritten.jsonl"
    with rewritten.open("w", encoding="utf-8") as handle:
        for line in export.read_text(encoding="utf-8").splitlines():
            document = json.loads(line)
            handle.write(json.dumps(dict(reversed(list(document.items()))), indent=None) + "\n")
    assert rewritten.read_bytes() != export.read_bytes()
    assert cli(str(rewritten), "--all").stdout == cli(str(export), "--all").stdout != ""


def test_the_export_release_010_made_replays_each_commitment_to_its_last_version() -> None:
    """0.1.0's own export (committed): its documents are read as this release reads them,
    upcast where their event class has changed since."""
    export = FIXTURE / "export.jsonl"
    versions: dict[str, int] = {}
    for line in export.read_text(encoding="utf-8").splitlines():
        document = json.loads(line)
        if document["aggregate_type"] == "commitment":
            versions[document["aggregate_id"]] = document["version"]
    every = [json.loads(line) for line in cli(str(export), "--all").stdout.splitlines()]
    assert {d["id"]: d["version"] for d in every} == versions and len(versions) >= 4
    for document in every:
        assert replayed(export, "--commitment", document["id"]) == document


def test_a_damaged_export_or_an_unanswerable_question_is_a_one_line_error(service: Service, tmp_path: Path) -> None:
    populate(service.ledger)
    export = service.export(tmp_path / "log.jsonl")
    lines = export.read_bytes().splitlines(keepends=True)
    some = service.commitment_ids()[0]
    version = service.get(some)[1]["version"]

    edited = tmp_path / "edited.jsonl"
    edited.write_bytes(b"".join([*lines[:5], lines[5].replace(b'"request_id":"', b'"request_id":"X'), *lines[6:]]))
    gap = tmp_path / "gap.jsonl"
    gap.write_bytes(b"".join(lines[:5] + lines[6:]))
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"".join([*lines[:3], b"not json\n", *lines[3:]]))
    cases = [
        ((str(edited), "--commitment", some), "line 6: the event does not match its leaf hash"),
        ((str(gap), "--commitment", some), "position 5 is missing"),
        ((str(garbage), "--all"), "line 4 is not an event document"),
        ((str(export), "--commitment", str(UUID(int=7))), "holds no commitment"),
        ((str(export), "--commitment", some, "--version", str(version + 1)), f"versions 1 to {version}"),
        ((str(export), "--commitment", some, "--version", "1", "--as-of", "2020-01-01T00:00:00Z"), "not both"),
        ((str(export), "--all", "--version", "1"), "one commitment"),
        ((str(export),), "give --commitment ID or --all"),
        ((str(export), "--commitment", "NZ0004"), "not a UUID"),
        ((str(export), "--commitment", some, "--as-of", "yesterday"), "not an instant"),
        ((str(export), "--commitment", some, "--as-of", "2020-01-01T00:00:00"), "time zone"),
    ]
    for args, complaint in cases:
        result = cli(*args)
        assert result.exit_code != 0, args
        assert complaint in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
    with pytest.raises(ReplayError):
        replay(lines[:5] + lines[6:], UUID(some))
