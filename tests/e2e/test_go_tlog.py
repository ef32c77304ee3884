"""The log checked by code nobody on this project wrote: the Go team's
``golang.org/x/mod/sumdb/note`` and ``golang.org/x/mod/sumdb/tlog`` (Debian's
``golang-golang-x-mod-dev``), driven by ``tests/golang/tlogcheck`` against a real
``tutahi serve`` whose checkpoints a real ``tutahi witness serve`` cosigns. The Go code
opens the signed checkpoint with the log's verifier key (and checks the witness's
cosignature), reads the tree through ``tlog.TileHashReader`` (which checks every tile
against the root), proves random entries included after checking their bundle bytes hash
to their leaves, and proves the log extends a checkpoint saved before more was written.
It also fails where it must: another key, a witness that did not cosign, a forged old
checkpoint.

Outside CI a missing Go toolchain skips these tests, visibly; in CI (``.ci/run``
installs the packages) they must run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.notes import CheckpointText, Note, NoteKey, parse_note, sign_note
from infrastructure.keys import load_or_create_signer
from tests.audit_store import demo_size
from tests.e2e.server import TUTAHI, free_port, running_server, tutahi

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "tests" / "golang" / "tlogcheck" / "main.go"
GOCODE = Path("/usr/share/gocode")
SUMDB = GOCODE / "src" / "golang.org" / "x" / "mod" / "sumdb"
GO = shutil.which("go")
ORIGIN = "tutahi.example.govt.nz/log"
WITNESS = "hui-e.example.org/witness"

pytestmark = pytest.mark.skipif(
    (GO is None or not SUMDB.is_dir()) and not os.environ.get("CI"),
    reason="the Go cross-check needs Debian's golang-go and golang-golang-x-mod-dev "
    "(apt-get install golang-go golang-golang-x-mod-dev); in CI it must run",
)


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go program, built in GOPATH mode against Debian's x/mod (no network)."""
    if GO is None or not SUMDB.is_dir():
        pytest.fail("CI is set but Go or golang.org/x/mod is missing: the Go cross-check may not skip in CI")
    folder = tmp_path_factory.mktemp("go")
    binary = folder / "tlogcheck"
    cache = Path.home() / ".cache" / "tutahi-tests" / "go-build"
    cache.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": f"{folder / 'gopath'}:{GOCODE}",
        "GOCACHE": str(cache),
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
    }
    built = subprocess.run(
        [GO, "build", "-o", str(binary), str(PROGRAM)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stderr
    return binary


def check(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=300)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A witness of the log whose key is in ``tmp_path/instance``, served by
    ``tutahi witness serve``: its URL and verifier key."""
    log_key = NoteKey(ORIGIN, 1, load_or_create_signer(tmp_path / "instance").public_bytes)
    made = subprocess.run(
        [TUTAHI, "witness", "init", "--origin", ORIGIN, "--log-key", log_key.verifier_key, "--name", WITNESS,
         "--state", str(tmp_path / "witness")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    vkey = made.stdout.strip().splitlines()[-1]
    port = free_port()
    with (tmp_path / "witness.log").open("wb") as sink:
        process = subprocess.Popen(
            [TUTAHI, "witness", "serve", "--state", str(tmp_path / "witness"), "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert get(f"{url}/healthz").decode().strip() == f"ok {vkey}"
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((tmp_path / "witness.log").read_text()) from None
                    time.sleep(0.2)
            yield url, vkey
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_gos_own_note_and_tlog_packages_verify_the_served_log(
    tlogcheck: Path, witness: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    witness_url, witness_vkey = witness
    url = f"sqlite:///{tmp_path}/go.db"
    tutahi(url, "demo", "--copies", "6")
    token = tutahi(url, "tokens", "issue", "--role", "auditor", "--name", "Auditor-General").stdout.splitlines()[-1]
    monkeypatch.setenv("TUTAHI_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TUTAHI_LOG_ORIGIN", ORIGIN)
    monkeypatch.setenv("TUTAHI_WITNESSES", json.dumps([{"url": witness_url, "verifier_key": witness_vkey}]))
    with running_server(url, tmp_path / "server.log") as (base, _):
        vkey = json.loads(get(f"{base}/api/v1/audit/public-key"))["note_verifier_key"]
        old = tmp_path / "old.note"
        old.write_bytes(get(f"{base}/log/checkpoint"))
        old_size = int(parse_note(old.read_bytes()).text.split("\n")[1])
        assert old_size > 256
        tutahi(url, "demo", "--copies", "12")  # the log grows while the service runs

        result = check(tlogcheck, "-url", base, "-vkey", vkey, "-token", token, "-witness", witness_vkey,
                       "-old", str(old), "-samples", "40")  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert lines[-1] == "OK"
        size = int(parse_note(get(f"{base}/log/checkpoint")).text.split("\n")[1])
        assert size > old_size
        assert f"origin {ORIGIN}, size {size}" in lines[0] and "2 valid signature(s)" in lines[0]
        assert f"the root of {size} leaves recomputed from tiles matches" in lines[1]
        assert "42 entries hash to their leaves and are proved included" in lines[2]
        assert f"the tree of {size} leaves extends the old checkpoint of {old_size}" in lines[3]

        # It can fail: another log key, a witness that did not cosign, a forged old checkpoint.
        other = NoteKey(ORIGIN, 1, load_or_create_signer(tmp_path / "other").public_bytes).verifier_key
        refused = check(tlogcheck, "-url", base, "-vkey", other)
        assert refused.returncode != 0 and "does not open" in refused.stderr
        stranger = NoteKey("stranger.example/w", 4, load_or_create_signer(tmp_path / "other").public_bytes)
        refused = check(tlogcheck, "-url", base, "-vkey", vkey, "-token", token, "-witness", stranger.verifier_key)
        assert refused.returncode != 0 and "no valid cosignature" in refused.stderr
        signer = load_or_create_signer(tmp_path / "instance")
        text = CheckpointText(ORIGIN, old_size, bytes(32)).text()  # the log's key, another history
        forged = tmp_path / "forged.note"
        forged.write_bytes(Note(text, (sign_note(text, NoteKey.parse(vkey), signer.sign),)).encode())
        refused = check(tlogcheck, "-url", base, "-vkey", vkey, "-token", token, "-old", str(forged))
        assert refused.returncode != 0 and "does not extend the old checkpoint" in refused.stderr
        refused = check(tlogcheck, "-url", base, "-vkey", vkey)  # bundles are for auditors
        assert refused.returncode != 0 and "401" in refused.stderr


def auditing_block() -> str:
    """The auditor's shell block of the README's Auditing section."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Auditing", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    (block,) = [b for b in blocks if "tlogcheck" in b]
    return str(block)


def test_the_readmes_auditing_workflow_runs_as_written(
    tlogcheck: Path, witness: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    witness_url, witness_vkey = witness
    url = f"sqlite:///{tmp_path}/readme.db"
    tutahi(url, "demo")
    token = tutahi(url, "tokens", "issue", "--role", "auditor", "--name", "Auditor-General").stdout.splitlines()[-1]
    monkeypatch.setenv("TUTAHI_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TUTAHI_LOG_ORIGIN", ORIGIN)
    monkeypatch.setenv("TUTAHI_WITNESSES", json.dumps([{"url": witness_url, "verifier_key": witness_vkey}]))
    work = tmp_path / "auditor"
    work.mkdir()
    shutil.copy(tlogcheck, work / "tlogcheck")
    with running_server(url, tmp_path / "server.log") as (base, _):
        env = {
            "PATH": f"{Path(TUTAHI).parent}:{os.environ['PATH']}",
            "HOME": str(work),
            "BASE": base,
            "WITNESS_KEY": witness_vkey,
            "AUDITOR_TOKEN": token,
        }  # no TUTAHI_* settings: the auditor's machine has no store and no service
        block = auditing_block().replace(
            "./tlogcheck -url", "tutahi demo --copies 2 >/dev/null 2>&1 && ./tlogcheck -url"
        )
        env["TUTAHI_DATABASE_URL"] = url  # (only for the line above, which grows the log between the steps)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "\nOK\n" in out and f"extends the old checkpoint of {demo_size()}" in out
    words = " ".join(out.split())  # (the terminal may wrap long lines)
    assert out.count("OK: ") == 2 and "cosigned by hui-e.example.org/witness (quorum 1)" in words
    versions = [json.loads(line) for line in (work / "commitments.jsonl").read_text().splitlines()]
    assert {d["external_ref"] for d in versions} >= {"NZ0001", "NZ0002", "NZ0003", "NZ0004"}
    documents = [json.loads(chunk) for chunk in re.split(r"\n(?=\{)", out[out.index("{") :].strip())]
    at_three, then = documents[-2], documents[-1]
    assert at_three["version"] == 3 and at_three["external_ref"] == "NZ0004"
    assert then["version"] == next(d["version"] for d in versions if d["external_ref"] == "NZ0004")
