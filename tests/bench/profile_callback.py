"""Profile one callback endpoint under the benchmark's load with py-spy (pip install py-spy).

    python tests/bench/profile_callback.py real|bare [--connections 16] [--seconds 10] [--idle] [--env K=V ...]

Starts the endpoint as callback_bench.py does, warms it up, then records it with
`py-spy record --threads [--idle] --format raw` while the same closed-loop load runs, and prints where the
samples fall: the server's CPU per callback by thread (from /proc, exact), then py-spy's samples by thread, by
part of the callback path, and the top functions by inclusive and by own samples. The report is saved as
tests/bench/results/profile-<target>[-gil|-idle].txt; the raw collapsed stacks (large) stay in a temp directory
(path printed) for flame graphs (e.g. speedscope). --env passes extra DRAFTBOT_* settings to the real server (for experiments,
e.g. --env DRAFTBOT_LOG_LEVEL=WARNING).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.callback_bench import (
    AES_KEY, CORP_ID, DATA, RESULTS, TOKEN, CallbackFactory, ServerProcess, bare_process, create_engine, run_load, wait_drained,
)

def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("target", choices=("real", "bare"))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--idle", action="store_true", help="also sample waiting threads (wall time, not CPU)")
    parser.add_argument("--gil", action="store_true", help="only sample the thread holding the GIL")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for the real server")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    args.client = "raw"
    if not shutil.which("py-spy"):
        sys.exit("py-spy not found: pip install py-spy")

    workdir = Path(tempfile.mkdtemp(prefix="draftbot-profile-"))
    database_url = f"sqlite:///{workdir}/draftbot.db"
    env = {
        "DRAFTBOT_DATABASE_URL": database_url, "DRAFTBOT_INTENTS_DIR": str(DATA / "intents"),
        "DRAFTBOT_PERSONAS_DIR": str(DATA / "persona_styles"), "DRAFTBOT_WECOM_CORP_ID": CORP_ID,
        "DRAFTBOT_WECOM_TOKEN": TOKEN, "DRAFTBOT_WECOM_AES_KEY": AES_KEY,
    }
    env.update(dict(item.split("=", 1) for item in args.env))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    factory = CallbackFactory()
    server = ServerProcess(env, workdir / "real.log") if args.target == "real" else bare_process(workdir / "bare.log")
    suffix = ("-idle" if args.idle else "") + ("-gil" if args.gil else "")
    out = workdir / f"profile-{args.target}{suffix}.raw.txt"
    summary_path = RESULTS / f"profile-{args.target}{suffix}.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say("command: python " + " ".join(sys.argv))
    try:
        server.start()
        pid = server.process.pid
        port = server.port
        engine = create_engine(database_url) if args.target == "real" else None
        run_load(args.target, "warmup", pid, port, factory.batch(int(args.warmup * 6000), port), args, args.warmup)
        if engine is not None:
            wait_drained(engine)
        batch = factory.batch(int(args.seconds * 6000), port)
        spy = subprocess.Popen(
            ["py-spy", "record", "--pid", str(pid), "--duration", str(int(args.seconds)), "--rate", str(args.rate),
             "--threads", "--format", "raw", "--output", str(out), "--nonblocking"] + (["--idle"] if args.idle else []) + (["--gil"] if args.gil else []),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        time.sleep(0.5)
        before = thread_cpu(pid)
        result = run_load(args.target, "profiled", pid, port, batch, args, args.seconds)
        after = thread_cpu(pid)
        names = thread_names(pid)
        spy.wait(60)
        if spy.returncode:
            print(spy.stderr.read().decode(), file=sys.stderr)
        say(f"{args.target}: {result.rps} cb/s p50 {result.p50_ms} ms p99 {result.p99_ms} ms errors {result.errors} "
              f"server cpu {result.server_cpu_util} ({result.server_cpu_per_cb_us} us/cb) under py-spy --nonblocking")
        groups: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
        for tid, (user, system) in after.items():
            u0, s0 = before.get(tid, (0.0, 0.0))
            group = thread_group(names.get(tid, ""), tid, pid)
            groups[group][0] += user - u0
            groups[group][1] += system - s0
        say(f"server CPU by thread during the run ({result.sent} callbacks; us per callback user+system):")
        for group, (user, system) in sorted(groups.items(), key=lambda kv: -sum(kv[1])):
            per = (user + system) / max(1, result.sent) * 1e6
            say(f"  {per:7.0f} us/cb  ({user / result.seconds:.2f} + {system / result.seconds:.2f} cores user+sys)  {group}")
        if engine is not None:
            backlog, drained = wait_drained(engine)
            say(f"worker backlog at end {backlog}, drained in {drained} s")
            engine.dispose()
    finally:
        server.stop()
    report(out, args.top, None if (args.idle or args.gil) else result.server_cpu_per_cb_us, say)
    say(f"raw stacks: {out}")
    summary_path.write_text("\n".join(lines) + "\n")
    print(f"report: {summary_path}")
    return 0


def thread_cpu(pid: int) -> dict[int, tuple[float, float]]:
    """utime and stime of every thread of `pid`, by thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) / tick, int(fields[12]) / tick)
    return out


def thread_names(pid: int) -> dict[int, str]:
    """Python thread names by OS thread id, from `py-spy dump`."""
    text = subprocess.run(["py-spy", "dump", "--pid", str(pid), "--nonblocking"], capture_output=True, text=True).stdout
    return {int(m.group(1), 0): m.group(2) for m in re.finditer(r'Thread (\S+) \([^)]*\): "([^"]*)"', text)}


def thread_group(name: str, tid: int, pid: int) -> str:
    if tid == pid or name == "MainThread":
        return "main thread (event loop: HTTP, crypto, routing, logging)"
    if name == "draftbot-worker":
        return "draftbot-worker thread (claims and runs the jobs)"
    if "AnyIO" in name:
        return "anyio threadpool (run_in_threadpool: _store)"
    if name.startswith("bench-"):
        return "bench writer thread (_store)"
    return f"other thread {name or tid}"


def category(frames: list[str]) -> str:
    """Where one sample's time goes, in the terms of the callback path."""
    thread, stack, leaf = frames[0], ";".join(frames[1:]), frames[-1]
    if "draftbot-worker" in thread:
        if "Event.wait" in stack:
            return "worker: waiting (poll/wake)"
        if "claim (" in stack:
            return "worker: claim (SELECT due, UPDATE, COMMIT, get)"
        if "handle_event" in stack or "handler" in stack:
            return "worker: job handler (logs 'no action')"
        return "worker: finish + COMMIT, session"
    if "AnyIO worker" in thread or "bench-writer" in thread or "bench-group-writer" in thread:
        if "_pragmas" in stack or "__connect" in stack:
            return "store: new pooled connection + PRAGMAs"
        if "do_execute" in leaf or "do_commit" in leaf or "do_rollback" in leaf:
            return "store: sqlite3 C calls (INSERT, COMMIT)"
        if "store_callback" in stack or "_store" in stack or "sqlalchemy" in stack:
            return "store: SQLAlchemy session/insert (Python)"
        return "threadpool thread hand-off (anyio/queue)"
    if "logging/__init__" in stack:
        return "logging (per-callback log lines)"
    if "bot/wecom/callback.py" in stack:
        return "CallbackCrypto.open (verify, decrypt, parse)"
    if "_read_capped" in stack:
        return "read body"
    if "prometheus_client" in stack:
        return "metrics counters"
    if "run_in_threadpool" in stack or "to_thread" in stack or "anyio" in stack:
        return "run_in_threadpool dispatch (anyio, Condition.notify)"
    if "Runner.run (" in leaf or "uvloop" in leaf:
        return "event loop + httptools parsing (C, uvloop)"
    if "uvicorn/protocols" in leaf:
        return "uvicorn protocol (response write, headers)"
    if "fastapi" in stack or "starlette" in stack or "uvicorn" in stack:
        return "FastAPI/Starlette/uvicorn Python (routing, DI, request, response)"
    return "other"


def report(path: Path, top: int, cpu_per_cb_us: float | None = None, print=print) -> None:
    categories: collections.Counter = collections.Counter()
    threads: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[_thread_name(frames[0])] += n
        categories[category(frames)] += n
        seen = set()
        for frame in frames[1:]:
            label = _short(frame)
            if label not in seen:
                inclusive[label] += n
                seen.add(label)
        own[_short(frames[-1])] += n
    print(f"\n{total} samples")
    print("by thread:")
    for name, n in threads.most_common():
        print(f"  {n / total:6.1%}  {name}")
    print("by part of the path" + (f" (us per callback = share x {cpu_per_cb_us:.0f} us of server CPU per callback)" if cpu_per_cb_us else "") + ":")
    for name, n in categories.most_common():
        us = f"{n / total * cpu_per_cb_us:7.0f} us" if cpu_per_cb_us else ""
        print(f"  {n / total:6.1%} {us}  {name}")
    print(f"top {top} inclusive:")
    for label, n in inclusive.most_common(top):
        print(f"  {n / total:6.1%}  {label}")
    print(f"top {top} own:")
    for label, n in own.most_common(top):
        print(f"  {n / total:6.1%}  {label}")


def _thread_name(frame: str) -> str:
    name = re.sub(r"\(0x[0-9a-f]+\)", "", frame).strip()
    name = re.sub(r"^thread ", "", name)
    if "AnyIO worker" in name or "asyncio_" in name or "ThreadPool" in name:
        return "threadpool (run_in_threadpool)"
    return name


def _short(frame: str) -> str:
    match = re.match(r"(.*) \((.*?):(\d+)\)$", frame)
    if not match:
        return frame
    function, file, _line = match.groups()
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{function} ({file})"


if __name__ == "__main__":
    raise SystemExit(main())
