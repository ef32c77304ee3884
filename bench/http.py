"""W2, W2-pg, M1 and M1-pg, the HTTP rows of docs/targets.md: ``tutahi serve`` driven by
``wrk`` (a separate process: 2 threads, 16 connections), against ``bench.plain`` (a
plain Flask JSON route) served with exactly the same gunicorn options. Both servers
are started side by side and loaded one after the other (the idle one costs the other
nothing measurable); each is stopped with SIGTERM however the row ends.

- W2, commands over HTTP: successful (2xx) ``POST /api/v1/commitments/{id}/actions``
  per second, all 16 connections recording joint actions on **one** commitment (joint
  actions are records of their own: they must not conflict, so every answer should be
  a 201), ÷ the plain route's answers per second under the same script, after a
  warm-up of both. ``tutahi serve`` on a SQLite file with its default options. Target:
  ratio ≥ 0.35 and the service's p99 ≤ 2× the plain route's p99 in the same run.
- W2-pg: the same with ``tutahi serve --workers 2`` on PostgreSQL (its rate limits
  counted in Redis, as several workers need) against the plain route with 2 workers.
- M1, memory: the peak of the summed RSS of the server's process tree (gunicorn master
  and workers), sampled every 100 ms while 16 connections read documents, timelines,
  pages of the log and partner timelines and record joint actions in a store of
  1,000,000 events. Target ≤ 200 MiB. A forked worker's pages shared with the master
  count in both RSS figures; the details also give the summed PSS (shared pages counted
  once). The plain server's peak under the W2 load is the baseline, for reading.
- M1-pg: the same on PostgreSQL with ``--workers 2`` (the store imported into it
  through the same batch path), summed over master and both workers.

The PostgreSQL rows use the bench's PostgreSQL database (``TUTAHI_BENCH_POSTGRES_URL``)
and the Redis at ``TUTAHI_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379``, under
a key prefix of the run's own).

Each load script's ``done()`` writes wrk's summary as one JSON line: request count,
duration, answers by status, socket errors and latency percentiles.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4, uuid5

import psycopg

from application.credentials import Credentials
from application.demo import COMMITMENTS, DIA, HUI_E, PARTNERS, commitment_id, partner_id
from application.ledger import Ledger
from bench.common import (
    DEMO_EVENTS,
    Result,
    Settings,
    build_plan,
    copies_for,
    copy_store,
    plan_store,
    ratio_row,
    rss_bytes,
    say,
)
from domain.values import Actor, ActorRole, OgpValue, PartnerKind, PartnerRole
from infrastructure.credentials import SqlCredentialStore
from interfaces import cli
from interfaces.composition import open_ledger
from interfaces.serve import server_options

ROOT = Path(__file__).resolve().parents[1]
TUTAHI = str(Path(sys.executable).parent / "tutahi")
HOST = "127.0.0.1"
CONNECTIONS = 16
WRK_THREADS = 2
WRK_TIMEOUT_S = 5
SAMPLE_SECONDS = 0.1
MIB = 1024 * 1024
W2_RATIO_BOUND = 0.35
W2_P99_BOUND = 2.0  # the service's p99 ÷ the plain route's p99, at most
PG_WORKERS = 2
DEFAULT_BENCH_REDIS = "redis://127.0.0.1:6379"
M1_BOUND_MIB = 200.0
M1_COPIES_SAMPLED = 500
BENCH_ADMIN = Actor(ActorRole.ADMIN, uuid5(UUID(int=0), "tutahi-bench-admin"), "Tūtahi benchmark")
OCCURRED_ON = "2015-09-12"
# ``tutahi serve``'s own defaults (host, port, workers, threads), read from the command,
# so that the baseline is served exactly as the service is.
SERVE_DEFAULTS: dict[str, Any] = {param.name: param.default for param in cli.serve.params}

# -- wrk and its load scripts ----------------------------------------------------------


def wrk_path() -> str:
    """The ``wrk`` executable; without it the HTTP rows cannot be measured."""
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    return path


# Counts answers by status in each wrk thread; done() adds them up and writes one line.
LUA_REPORT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("seed", #threads)
end

function init(args)
  math.randomseed(seed * 7919 + os.time())
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests":%d,"duration_us":%d,"statuses":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f}}\n',
    summary.requests, summary.duration, table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def lua_string(text: str) -> str:
    """A Lua string literal (JSON's escapes of ASCII text are Lua's too)."""
    if not text.isascii():
        raise ValueError(f"load scripts take ASCII only: {text!r}")
    return json.dumps(text)


def lua_list(values: Sequence[str]) -> str:
    return "{" + ",".join(lua_string(value) for value in values) + "}"


def lua_headers(token: str | None, *, json_body: bool = False) -> str:
    headers = {"Accept": "application/json"}
    if json_body:
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return "{" + ",".join(f"[{lua_string(k)}]={lua_string(v)}" for k, v in headers.items()) + "}"


def action_body(partner_ids: Sequence[UUID]) -> str:
    """A valid joint action (docs/api.md): a summary, a past date, the other partners named."""
    return json.dumps(
        {
            "summary": "Co-hosted a community hui on the accord's principles (benchmark)",
            "occurred_on": OCCURRED_ON,
            "partner_ids": [str(p) for p in partner_ids],
        }
    )


def actions_script(commitment_ids: Sequence[UUID], token: str, partner_ids: Sequence[UUID]) -> str:
    """W2's load: every request records a joint action on a random commitment."""
    return f"""
local ids = {lua_list([str(i) for i in commitment_ids])}
local headers = {lua_headers(token, json_body=True)}
local body = {lua_string(action_body(partner_ids))}

function request()
  local path = "/api/v1/commitments/" .. ids[math.random(#ids)] .. "/actions"
  return wrk.format("POST", path, headers, body)
end
{LUA_REPORT}"""


@dataclass(frozen=True)
class Mix:
    """M1's mixed load: what to read and write, and who reads and writes it."""

    read_ids: Sequence[UUID]  # public commitments whose documents and timelines are read
    write_ids: Sequence[UUID]  # commitments the agency records joint actions on
    write_partners: Sequence[UUID]  # the other partners those actions name
    partner_ids: Sequence[UUID]  # partners whose timelines the auditor reads
    events: int  # the log's size: random cursors below it
    agency_token: str
    auditor_token: str


def mixed_script(mix: Mix) -> str:
    """M1's load: 35% commitment documents, 25% commitment timelines, 10% pages of the
    log at random cursors, 10% partner timelines, 5% the first page of commitments and
    15% joint actions recorded."""
    return f"""
local reads = {lua_list([str(i) for i in mix.read_ids])}
local writes = {lua_list([str(i) for i in mix.write_ids])}
local partners = {lua_list([str(i) for i in mix.partner_ids])}
local public = {lua_headers(None)}
local auditor = {lua_headers(mix.auditor_token)}
local agency = {lua_headers(mix.agency_token, json_body=True)}
local body = {lua_string(action_body(mix.write_partners))}
local events = {mix.events}

local function pick(list)
  return list[math.random(#list)]
end

function request()
  local r = math.random(100)
  if r <= 35 then
    return wrk.format("GET", "/api/v1/commitments/" .. pick(reads), public)
  elseif r <= 60 then
    return wrk.format("GET", "/api/v1/commitments/" .. pick(reads) .. "/timeline?limit=100", public)
  elseif r <= 70 then
    return wrk.format("GET", "/api/v1/events?limit=100&after=" .. math.random(0, events - 1), auditor)
  elseif r <= 80 then
    return wrk.format("GET", "/api/v1/partners/" .. pick(partners) .. "/timeline?limit=100", auditor)
  elseif r <= 85 then
    return wrk.format("GET", "/api/v1/commitments?limit=100", public)
  end
  return wrk.format("POST", "/api/v1/commitments/" .. pick(writes) .. "/actions", agency, body)
end
{LUA_REPORT}"""


@dataclass(frozen=True)
class Load:
    """What one wrk run reports."""

    requests: int
    duration_us: int
    statuses: dict[int, int]
    errors: dict[str, int]  # socket errors, and answers ≥ 400 ("status")
    latency_us: dict[str, float]

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def ok_per_second(self) -> float:
        return self.ok / (self.duration_us / 1e6)

    @property
    def p99_ms(self) -> float:
        return self.latency_us["p99"] / 1000

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "ok_per_s": round(self.ok_per_second, 1),
            "duration_s": round(self.duration_us / 1e6, 3),
            "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
            "errors": self.errors,
            "latency_ms": {name: round(us / 1000, 2) for name, us in self.latency_us.items()},
        }


def parse_load(output: str) -> Load:
    for line in output.splitlines():
        if line.startswith("BENCH-RESULT "):
            data = json.loads(line.removeprefix("BENCH-RESULT "))
            return Load(
                requests=data["requests"],
                duration_us=data["duration_us"],
                statuses={int(status): n for status, n in data["statuses"].items()},
                errors=data["errors"],
                latency_us=data["latency_us"],
            )
    raise RuntimeError(f"wrk wrote no result line:\n{output[-2000:]}")


# -- memory of a process tree -----------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (by each process's parent id in ``/proc``)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, queue = [], [root]
    while queue:
        pid = queue.pop()
        tree.append(pid)
        queue.extend(children.get(pid, []))
    return tree


def pss_bytes(pid: int) -> int:
    """Proportional set size of a process now (each shared page split among its sharers),
    0 if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


@dataclass
class MemoryPeaks:
    """Peaks over samples of a process tree's memory: the sum of its processes' RSS (the
    figure: pages a forked worker shares with the master count twice), of their PSS
    (shared pages counted once), and each process's RSS."""

    root: int
    total: int = 0
    total_pss: int = 0
    by_pid: dict[int, int] = field(default_factory=dict)
    samples: int = 0

    def sample(self) -> None:
        tree = process_tree(self.root)
        sizes = {pid: rss_bytes(pid) for pid in tree}
        self.total = max(self.total, sum(sizes.values()))
        self.total_pss = max(self.total_pss, sum(pss_bytes(pid) for pid in tree))
        for pid, size in sizes.items():
            self.by_pid[pid] = max(self.by_pid.get(pid, 0), size)
        self.samples += 1

    def summary(self) -> dict[str, Any]:
        def role(pid: int) -> str:
            return f"master {pid}" if pid == self.root else f"worker {pid}"

        return {
            "peak_total_rss_mib": round(self.total / MIB, 1),
            "peak_total_pss_mib": round(self.total_pss / MIB, 1),
            "peak_rss_by_process_mib": {role(pid): round(size / MIB, 1) for pid, size in sorted(self.by_pid.items())},
            "samples": self.samples,
        }


def start_wrk(base: str, script: Path, seconds: int) -> subprocess.Popen[str]:
    """wrk against ``base`` for ``seconds`` (whole seconds: wrk takes no less)."""
    command = [
        wrk_path(),
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "--latency",
        f"--script={script}",
        base,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_wrk(process: subprocess.Popen[str], seconds: int) -> Load:
    output, errors = process.communicate(timeout=seconds + 60)
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with {process.returncode}: {errors.strip()[-2000:]}")
    return parse_load(output)


def drive(base: str, script: Path, seconds: int, memory: MemoryPeaks | None = None) -> Load:
    """Loads ``base`` with ``script`` for ``seconds``; samples ``memory`` meanwhile, if given."""
    with start_wrk(base, script, seconds) as process:
        while memory is not None and process.poll() is None:
            memory.sample()
            time.sleep(SAMPLE_SECONDS)
        return finish_wrk(process, seconds)


def warm_up(bases: Sequence[str], script: Path, seconds: int) -> None:
    """An untimed run against every server at once: each reaches its steady state
    (connections open, caches filled) before its measured run."""
    processes = [start_wrk(base, script, seconds) for base in bases]
    for process in processes:
        with process:
            finish_wrk(process, seconds)


# -- servers -------------------------------------------------------------------------------

Probe = Callable[[str], urllib.request.Request]


@dataclass(frozen=True)
class Server:
    """A server to start: its command (``--port`` is appended), log file, readiness probe
    and environment variables besides this process's own."""

    name: str
    command: list[str]
    log: Path
    probe: Probe
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Started:
    server: Server
    process: subprocess.Popen[bytes]
    base: str


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (each socket held until all are found)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(started: Started, seconds: float = 60) -> None:
    """Waits until the server's probe gets a 2xx (its worker has built its app)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if started.process.poll() is not None:
            raise RuntimeError(f"{started.server.name} exited early with {started.process.returncode}")
        try:
            with urllib.request.urlopen(started.server.probe(started.base), timeout=2) as answer:
                if 200 <= answer.status < 300:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{started.server.name} was not ready within {seconds:.0f} s")


def stop(processes: Sequence[subprocess.Popen[bytes]], seconds: float = 30) -> None:
    """SIGTERM to each (gunicorn drains and stops), then SIGKILL to any still running."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def serving(servers: Sequence[Server]) -> Iterator[list[Started]]:
    """Starts the servers side by side on free loopback ports, their output to their
    logs; yields them once all are ready, and always stops them. A failure meanwhile
    carries the tails of their logs. (An idle server costs the other's run nothing
    measurable; starting and stopping them together keeps ``--quick`` short.)"""
    started: list[Started] = []
    with ExitStack() as logs:
        try:
            for server, port in zip(servers, free_ports(len(servers)), strict=True):
                process = subprocess.Popen(
                    [*server.command, "--port", str(port)],
                    stdout=logs.enter_context(server.log.open("wb")),
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                    env={**os.environ, **server.env, "PYTHONUNBUFFERED": "1"},
                )
                started.append(Started(server, process, f"http://{HOST}:{port}"))
            for each in started:
                wait_ready(each)
            yield started
        except Exception as error:
            tails = "\n".join(f"--- {each.server.log} ---\n{log_tail(each.server.log)}" for each in started)
            raise RuntimeError(f"{error}\n{tails}") from error
        finally:
            stop([each.process for each in started])


def tutahi_server(url: str, folder: Path, workers: int | None = None) -> Server:
    """``tutahi serve`` as deployed (its default threads; its default workers, or
    ``workers``), ready when ``/readyz`` answers. Several workers count their rate
    limits in Redis, as ``tutahi serve`` requires."""
    command = [TUTAHI, "--database-url", url, "--instance-path", str(folder / "instance"), "serve", "--host", HOST]
    workers = workers if workers is not None else SERVE_DEFAULTS["workers"]
    if workers is not None:
        command += ["--workers", str(workers)]
    env = (
        shared_rate_limits()
        if server_options(url, host=HOST, port=0, workers=workers, threads=1)["workers"] > 1
        else {}
    )
    return Server("tutahi serve", command, folder / "tutahi.log", readyz, env)


def shared_rate_limits() -> dict[str, str]:
    """The Redis several workers count rate limits in, under a prefix of this run's own."""
    storage = os.environ.get("TUTAHI_BENCH_REDIS_URL", DEFAULT_BENCH_REDIS)
    return {"TUTAHI_RATE_LIMIT_STORAGE": storage, "TUTAHI_RATE_LIMIT_PREFIX": f"tutahi-bench-{uuid4().hex}"}


def plain_server(url: str, folder: Path, workers: int | None = None) -> Server:
    """``bench.plain`` with ``tutahi serve``'s default threads and workers (or
    ``workers``), ready when its route answers."""
    command = [sys.executable, "-m", "bench.plain", "--database-url", url, "--host", HOST]
    command += ["--threads", str(SERVE_DEFAULTS["threads"])]
    workers = workers if workers is not None else SERVE_DEFAULTS["workers"]
    if workers is not None:
        command += ["--workers", str(workers)]
    return Server("plain Flask", command, folder / "plain.log", plain_probe)


def readyz(base: str) -> urllib.request.Request:
    return urllib.request.Request(f"{base}/readyz")


def plain_probe(base: str) -> urllib.request.Request:
    return urllib.request.Request(
        f"{base}/api/v1/commitments/{uuid4()}/actions",
        data=action_body([uuid4()]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )


@dataclass(frozen=True)
class Run:
    """One server under one load: what wrk saw, and the server's memory if sampled."""

    load: Load
    memory: MemoryPeaks | None


def measured(started: Started, script: Path, seconds: int, *, sample: bool) -> Run:
    """Loads a started server with ``script`` for ``seconds``, sampling its memory if asked."""
    memory = MemoryPeaks(started.process.pid) if sample else None
    say(f"  {started.server.name}: {CONNECTIONS} connections for {seconds} s")
    return Run(drive(started.base, script, seconds, memory), memory)


def options_summary(url: str, workers: int | None = None) -> dict[str, Any]:
    """The gunicorn options both servers run with (the port aside)."""
    workers = workers if workers is not None else SERVE_DEFAULTS["workers"]
    options = server_options(url, host=HOST, port=0, workers=workers, threads=SERVE_DEFAULTS["threads"])
    return {key: options[key] for key in ("workers", "threads", "worker_class", "timeout", "graceful_timeout")}


def scratch(settings: Settings, row: str) -> Path:
    settings.folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{row}-", dir=settings.folder))


def issue(ledger: Ledger, role: ActorRole, *, partner: UUID | None = None, name: str | None = None) -> str:
    """A bearer token, issued as ``tutahi tokens issue`` does."""
    credentials = Credentials(SqlCredentialStore(ledger.recorder), ledger)
    return credentials.issue(role, partner_id=partner, name=name, now=datetime.now(UTC)).token


# -- W2 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionStore:
    url: str
    token: str  # the lead agency's
    commitment_ids: list[UUID]
    community_id: UUID  # the one other partner of every commitment


def action_store(url: str, commitments: int) -> ActionStore:
    """A store at ``url`` of ``commitments`` commitments led by one agency, each with one
    community partner, made through the application as the API would make them."""
    ledger = open_ledger(url)
    try:
        agency = register(ledger, "Department of Internal Affairs", PartnerKind.AGENCY)
        community = register(ledger, "Hui E! Community Aotearoa", PartnerKind.COMMUNITY_ORGANISATION)
        lead = Actor(ActorRole.AGENCY, agency, "Department of Internal Affairs")
        ids = [start_commitment(ledger, lead, community, n) for n in range(commitments)]
        return ActionStore(url, issue(ledger, ActorRole.AGENCY, partner=agency), ids, community)
    finally:
        ledger.close()


def register(ledger: Ledger, name: str, kind: PartnerKind) -> UUID:
    result = ledger.register_partner(name=name, kind=kind, actor=BENCH_ADMIN, request_id=f"bench-{uuid4()}")
    assert result.created_id is not None
    return result.created_id


def start_commitment(ledger: Ledger, lead: Actor, community: UUID, n: int) -> UUID:
    created = ledger.create_commitment(
        title=f"Benchmark commitment {n}",
        description="Made for W2: joint actions recorded over HTTP.",
        action_plan="Benchmark plan",
        external_ref=f"W2-{n:03d}",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[OgpValue.CIVIC_PARTICIPATION],
        actor=lead,
        request_id=f"bench-{uuid4()}",
    )
    assert created.created_id is not None
    ledger.add_partner(
        created.created_id, partner_id=community, role=PartnerRole.COMMUNITY, actor=lead, request_id=f"bench-{uuid4()}"
    )
    return created.created_id


def measure_w2(settings: Settings) -> Result:
    """W2: ``tutahi serve`` on a SQLite file with its default options."""
    folder = scratch(settings, "w2")
    return measure_actions(settings, "W2", f"sqlite:///{folder}/w2.db", folder, None)


def measure_w2_pg(settings: Settings) -> Result:
    """W2-pg: ``tutahi serve --workers 2`` on PostgreSQL, the plain route with 2 workers."""
    folder = scratch(settings, "w2-pg")
    return measure_actions(settings, "W2-pg", settings.postgres_url(), folder, PG_WORKERS)


def measure_actions(settings: Settings, row: str, url: str, folder: Path, workers: int | None) -> Result:
    """Joint actions recorded per second over HTTP by 16 connections, all on one
    commitment ÷ the plain route's answers per second under the same script; the
    service's p99 must also be at most twice the plain route's."""
    wrk_path()
    store = action_store(url, 1)
    script = folder / "actions.lua"
    script.write_text(actions_script(store.commitment_ids, store.token, [store.community_id]), encoding="ascii")
    warmup, seconds = settings.size(2, 1), settings.size(10, 2)
    servers = [tutahi_server(store.url, folder, workers), plain_server(store.url, folder, workers)]
    with serving(servers) as (tutahi, plain):
        warm_up([tutahi.base, plain.base], script, warmup)
        service = measured(tutahi, script, seconds, sample=False)
        if service.load.ok == 0 and settings.quick:
            # A smoke run's two seconds can fall in a stall of a shared machine's disk.
            say("  no 2xx answer in the quick window: measuring again for longer")
            service = measured(tutahi, script, 3 * seconds, sample=False)
        if service.load.ok == 0:
            raise RuntimeError(f"tutahi serve answered no 2xx: {service.load.summary()}")
        baseline = measured(plain, script, seconds, sample=False)
    p99, baseline_p99 = service.load.p99_ms, baseline.load.p99_ms
    say(f"  {row}: p99 {p99:.1f} ms (tutahi serve), {baseline_p99:.1f} ms (plain route)")
    details = {
        "p99_ms": p99,
        "baseline_p99_ms": baseline_p99,
        "p99_ratio": round(p99 / baseline_p99, 2) if baseline_p99 else None,
        "non_201": service.load.requests - service.load.statuses.get(201, 0),
        "commitments": 1,
        "connections": CONNECTIONS,
        "wrk_threads": WRK_THREADS,
        "seconds": seconds,
        "warmup_s": warmup,
        "server": options_summary(store.url, workers),
        "service": service.load.summary(),
        "baseline_run": baseline.load.summary(),
    }
    where = "SQLite, tutahi serve's defaults" if workers is None else f"PostgreSQL, --workers {workers}"
    result = ratio_row(
        row,
        f"2xx POST .../actions per s, 16 connections on one commitment ({where}) ÷ a plain Flask JSON route, "
        f"same server options; p99 {p99:.1f} ms vs {baseline_p99:.1f} ms",
        service.load.ok_per_second,
        baseline.load.ok_per_second,
        "req/s",
        f"≥ {W2_RATIO_BOUND}; p99 ≤ {W2_P99_BOUND:.0f}× the plain route's",
        settings,
        details,
        higher_is_better=True,
        bound=W2_RATIO_BOUND,
    )
    every_201 = details["non_201"] == 0
    return replace(result, met=result.met and every_201 and p99 <= W2_P99_BOUND * baseline_p99)


# -- M1 ---------------------------------------------------------------------------------


def plan_mix(ledger: Ledger, events: int, copies: int, rng: random.Random) -> Mix:
    """M1's targets in a plan store: the commitments of up to 500 random copies of the
    plan, joint actions by the Department of Internal Affairs on its NZ0004 copies (with
    Hui E! Community Aotearoa, their community partner), and every demo partner."""
    chosen = rng.sample(range(1, copies + 1), min(copies, M1_COPIES_SAMPLED))
    reads = [commitment_id(f"{seed.external_ref}-copy-{n}") for n in chosen for seed in COMMITMENTS]
    writes = [commitment_id(f"NZ0004-copy-{n}") for n in chosen]
    for sample in (reads[0], writes[-1]):
        if not ledger.commitment_exists(sample):
            raise RuntimeError(f"the plan store has no commitment {sample}: its copies are named differently")
    return Mix(
        read_ids=reads,
        write_ids=writes,
        write_partners=[partner_id(HUI_E)],
        partner_ids=[partner_id(name) for name, _ in PARTNERS],
        events=events,
        agency_token=issue(ledger, ActorRole.AGENCY, partner=partner_id(DIA)),
        auditor_token=issue(ledger, ActorRole.AUDITOR, name="Benchmark auditor"),
    )


def measure_m1(settings: Settings) -> Result:
    """M1: ``tutahi serve`` on a SQLite copy of the plan store, its default options."""
    folder = scratch(settings, "m1")
    size = settings.size(1_000_000, 20_000)
    source, ledger = plan_store(settings, size)
    ledger.close()
    began = time.perf_counter()
    url = copy_store(source, folder / "served.db")
    return measure_memory(settings, "M1", url, folder, None, {"store_copy_s": round(time.perf_counter() - began, 1)})


def measure_m1_pg(settings: Settings) -> Result:
    """M1-pg: ``tutahi serve --workers 2`` on PostgreSQL holding the plan store (imported
    into it through the batch path), summed over its processes."""
    folder = scratch(settings, "m1-pg")
    size = settings.size(1_000_000, 20_000)
    url = settings.postgres_url()
    began = time.perf_counter()
    ledger = open_ledger(url)
    try:
        build_plan(ledger, size)
    finally:
        ledger.close()
    build = {"store_import_s": round(time.perf_counter() - began, 1)}
    began = time.perf_counter()
    settle(url)
    build["store_settle_s"] = round(time.perf_counter() - began, 1)
    return measure_memory(settings, "M1-pg", url, folder, PG_WORKERS, build)


def settle(url: str) -> None:
    """After a bulk import, what PostgreSQL's autovacuum would do within minutes (vacuum,
    statistics) and a checkpoint, done now: the row measures serving the store, not the
    import's aftermath (one run measured straight after the import served 3.5 requests/s,
    with over a million socket errors; settled first, the same load got 270 requests/s)."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        with suppress(psycopg.Error):  # CHECKPOINT needs a superuser or pg_checkpoint
            connection.execute("CHECKPOINT")


def measure_memory(
    settings: Settings, row: str, url: str, folder: Path, workers: int | None, build: dict[str, Any]
) -> Result:
    """Peak RSS of ``tutahi serve``'s process tree under a mixed read and write load on
    the store at ``url``; the plain server's peak under the W2 load, for reading."""
    wrk_path()
    size = settings.size(1_000_000, 20_000)
    ledger = open_ledger(url)
    try:
        events = ledger.log_size()
        mix = plan_mix(ledger, events, copies_for(size, DEMO_EVENTS), random.Random(1))
    finally:
        ledger.close()
    mixed = folder / "mixed.lua"
    mixed.write_text(mixed_script(mix), encoding="ascii")
    actions = folder / "actions.lua"
    actions.write_text(actions_script(mix.write_ids, mix.agency_token, mix.write_partners), encoding="ascii")
    with serving([tutahi_server(url, folder, workers), plain_server(url, folder, workers)]) as (tutahi, plain):
        service = measured(tutahi, mixed, settings.size(20, 2), sample=True)
        baseline = measured(plain, actions, settings.size(20, 1), sample=True)
    assert service.memory is not None and baseline.memory is not None
    figure, baseline_mib = service.memory.total / MIB, baseline.memory.total / MIB
    details = {
        "events": events,
        **build,
        "non_2xx": service.load.requests - service.load.ok,
        "server": options_summary(url, workers),
        "connections": CONNECTIONS,
        "service_memory": service.memory.summary(),
        "service": service.load.summary(),
        "baseline_memory": baseline.memory.summary(),
        "baseline_run": baseline.load.summary(),
    }
    where = "" if workers is None else f" on PostgreSQL, --workers {workers}"
    return Result(
        row,
        f"peak RSS of tutahi serve's process tree{where} under mixed load, {events:,} events stored "
        "(baseline: plain Flask)",
        figure,
        baseline_mib,
        "MiB",
        figure / baseline_mib,
        f"≤ {M1_BOUND_MIB:.0f} MiB",
        figure <= M1_BOUND_MIB,
        settings.cpus,
        details,
    )
