"""Callback throughput benchmark: the real draftbot server against a bare verify+decrypt+parse endpoint.

    python tests/bench/callback_bench.py [--connections 16] [--seconds 10] [--rounds 2] [--database-url URL]

Not part of the test run (pyproject's norecursedirs skips tests/bench). What it does:

1. starts the real server (`python -m bot serve` through tests/e2e/server.py's ServerProcess) on a fresh
   temporary SQLite file (or --database-url), with tests/data intents/personas and the WeCom test credentials;
2. starts the bare endpoint (tests/bench/bare_callback.py) under uvicorn with the same options `draftbot serve`
   uses: one worker, loop and http "auto" (uvloop + httptools when installed), no access log, log level info;
3. before every timed run, pre-generates distinct signed callbacks (one MsgId each, timestamp = now);
4. warms both up, then runs bare, real, bare, real, ... (--rounds pairs), each for --seconds with --connections
   concurrent keep-alive connections (closed loop: each connection sends its next callback as soon as the
   previous answer arrived). After every real run it waits for the server's job worker to drain, so no run
   shares the CPU with the previous run's leftover work;
5. reports callbacks/s (mean over rounds; best round shown too), p50/p99 (pooled over the timed rounds),
   errors, CPU used per callback by each server, and the ratio real/bare;
6. stops the real server and checks in the database file that every acknowledged (HTTP 200) MsgId has its
   'wecom_event' job row;
7. prints PASS/FAIL against the targets and writes tests/bench/results/callback.json.

Load generator (default --client raw): this process, one asyncio event loop on uvloop, hand-written HTTP/1.1
over raw keep-alive sockets, every request pre-serialised. It costs a few tens of microseconds per request, so
on a 2-core machine it leaves the servers a whole core. `--client httpx` uses httpx.AsyncClient instead
(much heavier: on this machine it capped the bare endpoint at ~160 cb/s and made the ratio meaningless).

Noise: before each run it waits (up to --quiet-wait s) for other work on the machine to stop, and reports the
CPU other processes used during each run ("other cpu"). CPU per callback of each server ("srv cpu us/cb",
from /proc) is the figure least disturbed by other work.

Experiments: --env passes DRAFTBOT_* settings to the real server (e.g. DRAFTBOT_WORKER=thread); their results go
to tests/bench/results/experiments/. tests/bench/profile_callback.py profiles either endpoint with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # the test extra installs httpx2
from sqlalchemy import create_engine, text

from tests.e2e.server import ServerProcess
from tests.factories import AES_KEY, CORP_ID, TOKEN, app_text_xml, signed_callback

DATA = ROOT / "tests" / "data"
RESULTS = Path(__file__).resolve().parent / "results"
CALLBACK_PATH = "/wecom/callback"
TARGET_RATIO = 0.70
TARGET_P99_MS = 50.0
TARGET_P99_CONNECTIONS = 16
CONTENT = "你好，我上周买的那件外套什么时候发货？订单号 20241122-8848"  # a typical short customer text


# ---------------------------------------------------------------------------------------------- callbacks


@dataclass
class Batch:
    """Pre-generated callbacks for one run: the MsgIds and the complete HTTP requests."""

    msg_ids: list[str]
    raw: list[bytes]  # full HTTP/1.1 requests for the raw client
    parts: list[tuple[str, bytes]]  # (path?query, body) for the httpx client


class CallbackFactory:
    """Distinct MsgIds for the whole benchmark: a per-invocation numeric prefix and a counter."""

    def __init__(self) -> None:
        self.tag = str(int(time.time()))
        self.count = 0

    def batch(self, n: int, port: int) -> Batch:
        msg_ids, raw, parts = [], [], []
        for _ in range(n):
            self.count += 1
            msg_id = f"{self.tag}{self.count:08d}"
            signed = signed_callback(app_text_xml(msg_id=msg_id, user="bench-customer", content=CONTENT), nonce=f"n{self.count}")
            target = f"{CALLBACK_PATH}?{signed.query}"
            head = (
                f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: draftbot-bench\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(signed.body)}\r\n\r\n"
            )
            msg_ids.append(msg_id)
            raw.append(head.encode() + signed.body)
            parts.append((target, signed.body))
        return Batch(msg_ids, raw, parts)


# ---------------------------------------------------------------------------------------------- load


@dataclass
class RunResult:
    target: str
    phase: str  # "warmup" | "round N"
    connections: int
    seconds: float  # elapsed: first request to last answer
    sent: int
    ok: int
    errors: int
    statuses: dict[str, int]
    rps: float  # acknowledged (200) callbacks per second
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float
    pool_exhausted: bool
    server_cpu_s: float
    server_cpu_per_cb_us: float
    server_cpu_util: float  # share of one core
    worker_cpu_util: float  # the server's child processes (the `draftbot worker` that `serve` starts), share of one core
    client_cpu_util: float  # share of one core
    other_cpu_util: float  # everything else on the machine, in cores (noise from other work)
    server_minstr_per_cb: float | None = None  # --perf: user-space instructions of the serving process, millions per callback
    server_mcycles_per_cb: float | None = None  # --perf: its CPU cycles, millions per callback
    backlog_at_end: int | None = None
    drain_seconds: float | None = None
    latencies_ns: list[int] = field(default_factory=list, repr=False)
    acked_ids: list[str] = field(default_factory=list, repr=False)

    def public(self) -> dict:
        data = asdict(self)
        data.pop("latencies_ns")
        data.pop("acked_ids")
        return data


def percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(q * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index] / 1e6


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, content-length and connection-close from a response head (status line + headers)."""
    status = int(head[9:12])
    length, close = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
        elif name == b"transfer-encoding":
            raise ValueError("chunked responses are not expected from this endpoint")
    return status, length, close


async def drive_raw(port: int, batch: Batch, connections: int, seconds: float) -> dict:
    """Closed-loop load on raw keep-alive sockets; returns latencies, statuses and acknowledged MsgIds."""
    state = {"next": 0, "exhausted": False}
    latencies: list[int] = []
    statuses: dict[str, int] = {}
    acked: list[str] = []
    start_gate = asyncio.Event()
    deadline_box = [0.0]

    async def connect():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    async def one_connection(reader, writer) -> None:
        await start_gate.wait()
        deadline = deadline_box[0]
        perf = time.perf_counter
        clock = time.perf_counter_ns
        while perf() < deadline:
            i = state["next"]
            if i >= len(batch.raw):
                state["exhausted"] = True
                break
            state["next"] = i + 1
            t0 = clock()
            try:
                writer.write(batch.raw[i])
                head = await reader.readuntil(b"\r\n\r\n")
                status, length, close = _parse_head(head)
                if length:
                    await reader.readexactly(length)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as exc:
                key = f"error:{type(exc).__name__}"
                statuses[key] = statuses.get(key, 0) + 1
                writer.close()
                reader, writer = await connect()
                continue
            latencies.append(clock() - t0)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status == 200:
                acked.append(batch.msg_ids[i])
            if close:
                writer.close()
                reader, writer = await connect()
        writer.close()

    links = [await connect() for _ in range(connections)]
    tasks = [asyncio.create_task(one_connection(r, w)) for r, w in links]
    await asyncio.sleep(0)
    started = time.perf_counter()
    deadline_box[0] = started + seconds
    start_gate.set()
    done, pending = await asyncio.wait(tasks, timeout=seconds + 30)
    for task in pending:  # stuck for 30 s past the end: count as timeouts
        task.cancel()
        statuses["error:timeout"] = statuses.get("error:timeout", 0) + 1
    for task in done:
        if task.exception():
            raise task.exception()
    elapsed = time.perf_counter() - started
    return dict(elapsed=elapsed, sent=state["next"], latencies=latencies, statuses=statuses, acked=acked, exhausted=state["exhausted"])


async def drive_httpx(port: int, batch: Batch, connections: int, seconds: float) -> dict:
    """The same closed loop with httpx.AsyncClient and a pool of `connections` keep-alive connections."""
    state = {"next": 0, "exhausted": False}
    latencies: list[int] = []
    statuses: dict[str, int] = {}
    acked: list[str] = []
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"Content-Type": "text/xml"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
        await asyncio.gather(*(client.get("/healthz") for _ in range(connections)))  # open the pool
        started = time.perf_counter()
        deadline = started + seconds

        async def one_connection() -> None:
            while time.perf_counter() < deadline:
                i = state["next"]
                if i >= len(batch.parts):
                    state["exhausted"] = True
                    break
                state["next"] = i + 1
                target, body = batch.parts[i]
                t0 = time.perf_counter_ns()
                try:
                    response = await client.post(target, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    key = f"error:{type(exc).__name__}"
                    statuses[key] = statuses.get(key, 0) + 1
                    continue
                latencies.append(time.perf_counter_ns() - t0)
                statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
                if response.status_code == 200:
                    acked.append(batch.msg_ids[i])

        await asyncio.gather(*(one_connection() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return dict(elapsed=elapsed, sent=state["next"], latencies=latencies, statuses=statuses, acked=acked, exhausted=state["exhausted"])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(pid: int) -> float:
    """CPU seconds of the running child processes of `pid` (the real server's worker process)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                total += cpu_seconds(int(child))
            except OSError:
                pass
    return total


class PerfCounters:
    """`perf stat` on a running process: user-space instructions and cycles (--perf).

    Instructions per callback barely move when other work shares the machine, unlike CPU time, so they
    compare two versions of the server reliably; cycles per callback predict the throughput.
    """

    def __init__(self, pid: int) -> None:
        self.process = subprocess.Popen(["perf", "stat", "-x,", "-e", "instructions:u,cycles:u", "-p", str(pid)],
                                        stderr=subprocess.PIPE, text=True)

    def stop(self) -> dict[str, int]:
        self.process.send_signal(signal.SIGINT)
        counted = {}
        for line in self.process.communicate(timeout=30)[1].splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[0].isdigit():
                counted[fields[2]] = int(fields[0])
        return counted


def system_busy_seconds() -> float:
    """CPU seconds spent by everything on the machine (all cores, not idle or iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_quiet(threshold: float, timeout: float) -> float:
    """Wait until the whole machine stays under `threshold` busy cores for a second; returns the last reading."""
    deadline = time.monotonic() + timeout
    while True:
        before, t0 = system_busy_seconds(), time.monotonic()
        time.sleep(1.0)
        busy = (system_busy_seconds() - before) / (time.monotonic() - t0)
        if busy < threshold or time.monotonic() > deadline:
            return busy


def run_load(target: str, phase: str, pid: int, port: int, batch: Batch, args: argparse.Namespace, seconds: float) -> RunResult:
    drive = drive_raw if args.client == "raw" else drive_httpx
    gc.collect()
    gc.freeze()  # the pre-generated batch never needs scanning again
    cpu0, kids0, own0, all0 = cpu_seconds(pid), children_cpu_seconds(pid), time.process_time(), system_busy_seconds()
    counting = PerfCounters(pid) if args.perf else None
    wall0 = time.perf_counter()
    out = asyncio.run(drive(port, batch, args.connections, seconds))
    wall = time.perf_counter() - wall0
    counted = counting.stop() if counting else {}
    cpu, own, busy = cpu_seconds(pid) - cpu0, time.process_time() - own0, system_busy_seconds() - all0
    kids = max(0.0, children_cpu_seconds(pid) - kids0)
    gc.unfreeze()
    lat = sorted(out["latencies"])
    ok = out["statuses"].get("200", 0)
    errors = sum(v for k, v in out["statuses"].items() if k != "200")
    return RunResult(
        target=target, phase=phase, connections=args.connections, seconds=round(out["elapsed"], 3), sent=out["sent"],
        ok=ok, errors=errors, statuses=out["statuses"], rps=round(ok / out["elapsed"], 1),
        p50_ms=round(percentile(lat, 0.50), 2), p90_ms=round(percentile(lat, 0.90), 2),
        p99_ms=round(percentile(lat, 0.99), 2), p999_ms=round(percentile(lat, 0.999), 2),
        max_ms=round(lat[-1] / 1e6, 2) if lat else float("nan"),
        mean_ms=round(statistics.fmean(lat) / 1e6, 2) if lat else float("nan"),
        pool_exhausted=out["exhausted"], server_cpu_s=round(cpu, 3),
        server_cpu_per_cb_us=round(cpu / max(1, out["sent"]) * 1e6, 1),
        server_cpu_util=round(cpu / wall, 3), worker_cpu_util=round(kids / wall, 3), client_cpu_util=round(own / wall, 3),
        other_cpu_util=round(max(0.0, busy - cpu - kids - own) / wall, 3),
        server_minstr_per_cb=round(counted["instructions:u"] / max(1, out["sent"]) / 1e6, 3) if "instructions:u" in counted else None,
        server_mcycles_per_cb=round(counted["cycles:u"] / max(1, out["sent"]) / 1e6, 3) if "cycles:u" in counted else None,
        latencies_ns=out["latencies"], acked_ids=out["acked"],
    )


# ---------------------------------------------------------------------------------------------- servers


def bare_process(log_path: Path) -> ServerProcess:
    """tests/bench/bare_callback.py under uvicorn, with the options `draftbot serve` passes to uvicorn.run."""
    return ServerProcess({}, log_path, args=("-m", "uvicorn", "tests.bench.bare_callback:app", "--no-access-log", "--log-level", "info"))


def pending_jobs(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM jobs WHERE status IN ('pending', 'running')")).scalar_one()


def wait_drained(engine, timeout: float = 300.0) -> tuple[int, float]:
    """Backlog right now, and seconds until the real server's worker has run every job."""
    backlog = pending_jobs(engine)
    started = time.perf_counter()
    while pending_jobs(engine) and time.perf_counter() - started < timeout:
        time.sleep(0.1)
    return backlog, round(time.perf_counter() - started, 2)


# ---------------------------------------------------------------------------------------------- report


def summarise(runs: list[RunResult]) -> dict:
    lat = sorted(x for run in runs for x in run.latencies_ns)
    rates = [run.rps for run in runs]
    return dict(
        rounds=len(runs), rps_mean=round(statistics.fmean(rates), 1), rps_best=max(rates),
        rps_spread_pct=round((max(rates) - min(rates)) / statistics.fmean(rates) * 100, 1) if rates else 0.0,
        p50_ms=round(percentile(lat, 0.50), 2), p90_ms=round(percentile(lat, 0.90), 2),
        p99_ms=round(percentile(lat, 0.99), 2), p999_ms=round(percentile(lat, 0.999), 2),
        max_ms=round(lat[-1] / 1e6, 2) if lat else float("nan"),
        ok=sum(r.ok for r in runs), errors=sum(r.errors for r in runs),
        server_cpu_per_cb_us=round(sum(r.server_cpu_s for r in runs) / max(1, sum(r.sent for r in runs)) * 1e6, 1),
        server_cpu_util=round(statistics.fmean(r.server_cpu_util for r in runs), 3),
        worker_cpu_util=round(statistics.fmean(r.worker_cpu_util for r in runs), 3),
        client_cpu_util=round(statistics.fmean(r.client_cpu_util for r in runs), 3),
        other_cpu_util_max=max(r.other_cpu_util for r in runs),
        server_minstr_per_cb=_mean_of(runs, "server_minstr_per_cb"),
        server_mcycles_per_cb=_mean_of(runs, "server_mcycles_per_cb"),
    )


def _mean_of(runs: list[RunResult], name: str) -> float | None:
    values = [getattr(r, name) for r in runs if getattr(r, name) is not None]
    return round(statistics.fmean(values), 3) if values else None


def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ("uvicorn", "fastapi", "starlette", "sqlalchemy", "wechatpy", "httpx", "uvloop", "httptools"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:
            versions[name] = None
    return dict(
        nproc=os.cpu_count(), cpu_model=model, python=platform.python_version(),
        implementation=platform.python_implementation(), platform=platform.platform(), versions=versions,
        uvicorn_loop="uvloop" if versions["uvloop"] else "asyncio",
        uvicorn_http="httptools" if versions["httptools"] else "h11",
    )


def table(rows: list[tuple], headers: tuple) -> str:
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections (default 16)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed run (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="bare/real pairs of timed runs (default 2)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per target (default 2)")
    parser.add_argument("--database-url", default=None, help="real server's database (default: a fresh temp SQLite file)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw", help="load generator (default raw)")
    parser.add_argument("--output", type=Path, default=None,
                        help="results JSON (default tests/bench/results/callback.json; with --env: "
                             "tests/bench/results/experiments/callback-<settings>.json)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the real server, e.g. DRAFTBOT_LOG_LEVEL=WARNING (repeatable)")
    parser.add_argument("--quiet-wait", type=float, default=120.0,
                        help="before each run, wait up to this many seconds for other work on the machine to stop "
                             "(< 0.15 busy cores for 1 s); 0 disables (default 120)")
    parser.add_argument("--perf", action="store_true", help="count each server's instructions and cycles per callback "
                        "with `perf stat` (needs perf and perf_event_paranoid <= 2)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (database, server logs)")
    args = parser.parse_args()
    command = "python " + shlex.join(sys.argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop both servers on the way out
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    if args.output is None:
        suffix = "+".join(e.split("=", 1)[0].removeprefix("DRAFTBOT_").lower() + "=" + e.split("=", 1)[1] for e in args.env)
        args.output = RESULTS / "experiments" / f"callback-{suffix}.json" if suffix else RESULTS / "callback.json"

    workdir = Path(tempfile.mkdtemp(prefix="draftbot-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir}/draftbot.db"
    env = {
        "DRAFTBOT_DATABASE_URL": database_url,
        "DRAFTBOT_INTENTS_DIR": str(DATA / "intents"),
        "DRAFTBOT_PERSONAS_DIR": str(DATA / "persona_styles"),
        "DRAFTBOT_WECOM_CORP_ID": CORP_ID,
        "DRAFTBOT_WECOM_TOKEN": TOKEN,
        "DRAFTBOT_WECOM_AES_KEY": AES_KEY,
    }
    env.update(dict(item.split("=", 1) for item in args.env))
    info = machine_info()
    print(f"machine: {info['nproc']} cores ({info['cpu_model']}), Python {info['python']}, "
          f"uvicorn {info['versions']['uvicorn']} loop={info['uvicorn_loop']} http={info['uvicorn_http']}, 1 worker each")
    client_desc = ("raw: asyncio+uvloop, hand-written HTTP/1.1 on keep-alive sockets, requests pre-serialised"
                   if args.client == "raw" else "httpx.AsyncClient, pool of --connections keep-alive connections")
    print(f"load generator: this process, {client_desc}; closed loop, {args.connections} connections")
    real_desc = "python -m bot serve"
    if args.env:
        real_desc += f", extra env {' '.join(args.env)}"
    print(f"real server: {real_desc}, database {database_url}; logs in {workdir}")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    factory = CallbackFactory()
    real = ServerProcess(env, workdir / "real.log")
    bare = bare_process(workdir / "bare.log")
    engine = None
    runs: list[RunResult] = []
    real_acked: set[str] = set()
    real_sent = 0
    try:
        real.start()
        bare.start()
        engine = create_engine(database_url)
        servers = {"bare": (bare.process.pid, bare.port), "real": (real.process.pid, real.port)}

        def one(target: str, phase: str, seconds: float, pool: int) -> RunResult:
            nonlocal real_sent
            pid, port = servers[target]
            t0 = time.perf_counter()
            batch = factory.batch(pool, port)
            gen = time.perf_counter() - t0
            if args.quiet_wait > 0:
                background = wait_quiet(0.15, args.quiet_wait)
                if background >= 0.15:
                    print(f"  (machine still busy with other work: {background:.2f} cores; running anyway)")
            result = run_load(target, phase, pid, port, batch, args, seconds)
            if target == "real":
                real_acked.update(result.acked_ids)
                real_sent += result.sent
                result.backlog_at_end, result.drain_seconds = wait_drained(engine)
            flag = "  POOL EXHAUSTED" if result.pool_exhausted else ""
            if result.server_minstr_per_cb is not None:
                flag += f"  perf: {result.server_minstr_per_cb:.3f} M instructions, {result.server_mcycles_per_cb:.3f} M cycles per callback"
            extra = f"  worker backlog {result.backlog_at_end}, drained in {result.drain_seconds} s" if target == "real" else ""
            print(f"  {phase:8} {target:4}: {result.rps:8.1f} cb/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                  f"errors {result.errors}  cpu: server {result.server_cpu_util:.2f} worker {result.worker_cpu_util:.2f} "
                  f"client {result.client_cpu_util:.2f} "
                  f"other {result.other_cpu_util:.2f}"
                  f"  ({pool} callbacks signed in {gen:.1f} s before the run){extra}{flag}", flush=True)
            return result

        print(f"warm-up: {args.warmup} s each")
        estimate = {}
        for target in ("bare", "real"):
            warm = one(target, "warmup", args.warmup, max(2000, int(args.warmup * 6000)))
            estimate[target] = warm.rps
        print(f"timed: {args.rounds} x (bare, real), {args.seconds} s each")
        for n in range(1, args.rounds + 1):
            for target in ("bare", "real"):
                pool = int(max(estimate[target], 500) * args.seconds * 2) + 2000
                result = one(target, f"round {n}", args.seconds, pool)
                estimate[target] = max(estimate[target], result.rps)
                runs.append(result)
    finally:
        real.stop()
        bare.stop()
        if engine is not None:
            engine.dispose()

    # every acknowledged callback must be in the database file (read after the server stopped)
    check = create_engine(database_url)
    with check.connect() as connection:
        stored_keys = set(connection.execute(
            text("SELECT key FROM jobs WHERE kind = 'wecom_event' AND key LIKE :prefix"), {"prefix": f"msg:{factory.tag}%"},
        ).scalars())
        rows_total = connection.execute(text("SELECT count(*) FROM jobs WHERE kind = 'wecom_event'")).scalar_one()
        by_status = dict(connection.execute(text(
            "SELECT status, count(*) FROM jobs WHERE kind = 'wecom_event' AND key LIKE :prefix GROUP BY status"),
            {"prefix": f"msg:{factory.tag}%"}).all())
    check.dispose()
    acked_keys = {f"msg:{m}" for m in real_acked}
    missing = acked_keys - stored_keys
    unacked_stored = stored_keys - acked_keys
    storage = dict(
        acknowledged=len(acked_keys), sent=real_sent, stored=len(stored_keys), wecom_event_rows_in_table=rows_total,
        missing=len(missing), stored_not_acknowledged=len(unacked_stored), job_status=by_status,
        missing_examples=sorted(missing)[:10],
    )

    bare_runs = [r for r in runs if r.target == "bare"]
    real_runs = [r for r in runs if r.target == "real"]
    summary = {"bare": summarise(bare_runs), "real": summarise(real_runs)}
    ratio_mean = summary["real"]["rps_mean"] / summary["bare"]["rps_mean"]
    ratio_best = summary["real"]["rps_best"] / summary["bare"]["rps_best"]
    p99 = summary["real"]["p99_ms"]
    checks = {
        "ratio": dict(target=f">= {TARGET_RATIO:.2f}", value=round(ratio_mean, 3), passed=ratio_mean >= TARGET_RATIO),
        "p99": dict(
            target=f"< {TARGET_P99_MS:.0f} ms at {TARGET_P99_CONNECTIONS} connections", value=p99,
            connections=args.connections, passed=p99 < TARGET_P99_MS,
            note=None if args.connections == TARGET_P99_CONNECTIONS else f"measured at {args.connections} connections",
        ),
        "stored": dict(
            target="stored == acknowledged", value=f"{len(acked_keys & stored_keys)}/{len(acked_keys)}",
            passed=not missing and not unacked_stored,
        ),
        "errors": dict(target="0 errors", value=summary["real"]["errors"] + summary["bare"]["errors"],
                       passed=summary["real"]["errors"] + summary["bare"]["errors"] == 0),
    }
    passed = all(c["passed"] for c in checks.values())

    print()
    print(f"{args.connections} connections, {args.seconds:g} s per run, {args.rounds} rounds per target, order "
          f"{', '.join(f'{r.target}' for r in runs)}; cb/s = mean of rounds (best round in brackets); "
          f"latency percentiles pooled over the timed rounds; client: {args.client}")
    rows = []
    for name in ("bare", "real"):
        s = summary[name]
        rows.append((name, f"{s['rps_mean']:.1f} ({s['rps_best']:.1f})", f"{s['p50_ms']:.2f}", f"{s['p90_ms']:.2f}",
                     f"{s['p99_ms']:.2f}", f"{s['max_ms']:.2f}", s["ok"], s["errors"], f"{s['server_cpu_per_cb_us']:.0f}",
                     f"{s['server_cpu_util']:.2f}", f"{s['worker_cpu_util']:.2f}", f"{s['client_cpu_util']:.2f}",
                     f"{s['other_cpu_util_max']:.2f}"))
    print(table(rows, ("endpoint", "cb/s mean (best)", "p50 ms", "p90 ms", "p99 ms", "max ms", "200s", "errors",
                       "srv cpu us/cb", "srv cpu", "worker cpu", "client cpu", "other cpu max")))
    heavy = [f"{r.target} {r.phase}" for r in runs if r.client_cpu_util > 0.5]
    if heavy:
        print(f"WARNING: the load generator used > 0.5 cores during {', '.join(heavy)}: it is probably the bottleneck "
              "and the ratio is not meaningful (use --client raw)")
    noisy = [f"{r.target} {r.phase}" for r in runs if r.other_cpu_util > 0.15]
    if noisy:
        print(f"note: other processes used > 0.15 cores during {', '.join(noisy)}: those runs are noisy")
    print(f"ratio real/bare: {ratio_mean:.3f} (mean of rounds), {ratio_best:.3f} (best rounds)")
    if summary["real"]["server_mcycles_per_cb"] and summary["bare"]["server_mcycles_per_cb"]:
        print("perf, serving process per callback (mean of rounds): " + "; ".join(
            f"{name} {summary[name]['server_minstr_per_cb']:.3f} M instructions, {summary[name]['server_mcycles_per_cb']:.3f} M cycles"
            for name in ("bare", "real")) + f"; cycles bare/real {summary['bare']['server_mcycles_per_cb'] / summary['real']['server_mcycles_per_cb']:.3f}")
    print(f"stored: {len(acked_keys & stored_keys)} of {len(acked_keys)} acknowledged MsgIds have a 'wecom_event' job row "
          f"({len(stored_keys)} rows from this run, {rows_total} in the table; missing {len(missing)}, "
          f"stored but not acknowledged {len(unacked_stored)}; job status {by_status})")
    for name, c in checks.items():
        note = f" [{c['note']}]" if c.get("note") else ""
        print(f"{'PASS' if c['passed'] else 'FAIL'}  {name:7} {c['value']}  (target {c['target']}){note}")
    print(f"overall: {'PASS' if passed else 'FAIL'}")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = dict(
        command=command, cwd=str(ROOT), executable=sys.executable, started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        real_server=real_desc, extra_env=args.env,
        machine=info, client=dict(kind=args.client, description=client_desc, process="the benchmark process"),
        settings=dict(connections=args.connections, seconds=args.seconds, rounds=args.rounds, warmup=args.warmup,
                      database_url=database_url if args.database_url else "temporary SQLite file",
                      aggregation="cb/s: mean of rounds (best also given); percentiles pooled over timed rounds",
                      order=[f"{r.target} {r.phase}" for r in runs]),
        summary=summary, ratio_mean=round(ratio_mean, 3), ratio_best=round(ratio_best, 3), storage=storage,
        checks=checks, passed=passed, runs=[r.public() for r in runs],
    )
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {args.output}")
    if not args.keep and not args.database_url:
        for path in sorted(workdir.iterdir(), reverse=True):
            path.unlink()
        workdir.rmdir()
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
