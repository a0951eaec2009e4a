"""Start-up time and resident memory of `draftbot serve` (not part of the test run).

    python tests/bench/startup_bench.py [--draftbot PATH] [--config DIR] [--runs 3] [--messages 5] [--json FILE]

Each run makes a fresh temporary SQLite file and starts `draftbot serve` on it twice (the first start creates
the database and trains on the shipped intents; the second finds them), timing each start from the spawn until
GET /healthz answers 200, and notes the CPU time the serving process used by then (steadier than wall time on a
shared machine). After the second start it reads the resident memory (VmRSS, /proc) of the serving process and
of its children (the `draftbot worker` that `serve` starts) once it stops growing, sends a few customer messages
through the demo page's API, waits for every draft, and reads the memory again. `--draftbot` picks the
installed copy to measure (e.g. /tmp/v1/bin/draftbot), so two versions can be compared side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ("我的订单到哪了？", "你好", "有没有优惠活动", "东西坏了，我要投诉", "能退货吗", "发票怎么开", "谢谢")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: dict | None = None, timeout: float = 5.0) -> tuple[int, dict | None]:
    """One request with the standard library (no client library's memory or start-up in the figures)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw.startswith(b"{") else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> dict[str, float]:
    """MiB resident: the serving process, its children together, and the sum."""
    serving = rss_kib(pid) / 1024
    kids = sum(rss_kib(child) for child in children(pid)) / 1024
    return {"serve_mib": round(serving, 1), "worker_mib": round(kids, 1), "total_mib": round(serving + kids, 1)}


class Served:
    """`draftbot serve` on a database, started on enter and stopped (SIGTERM) on exit."""

    def __init__(self, draftbot: str, database: Path, log: Path, config: Path) -> None:
        self.draftbot, self.database, self.log_path, self.config = draftbot, database, log, config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.seconds = self.cpu = 0.0

    def __enter__(self) -> Served:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRAFTBOT_")}
        env |= {"DRAFTBOT_DATABASE_URL": f"sqlite:///{self.database}", "DRAFTBOT_INTENTS_DIR": str(self.config / "intents"),
                "DRAFTBOT_PERSONAS_DIR": str(self.config / "persona_styles"), "DRAFTBOT_LOG_LEVEL": "WARNING"}
        self.log = self.log_path.open("ab")
        started = time.perf_counter()
        self.process = subprocess.Popen([self.draftbot, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                        cwd=self.database.parent, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"draftbot serve exited with {self.process.returncode}:\n{self._tail()}")
            try:
                if http("GET", f"{self.url}/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - started > 120:
                self.__exit__()
                raise SystemExit(f"draftbot serve did not answer /healthz in 120 s:\n{self._tail()}")
            time.sleep(0.02)
        self.seconds = time.perf_counter() - started
        self.cpu = cpu_seconds(self.process.pid)
        return self

    def _tail(self, lines: int = 20) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def settled_memory(pid: int, timeout: float = 30.0) -> dict[str, float]:
    """The memory once it stops growing (the worker child loads its model after /healthz answers)."""
    previous, deadline = memory(pid), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = memory(pid)
        if abs(current["total_mib"] - previous["total_mib"]) < 1.0 and current["worker_mib"] > 0:
            return current
        previous = current
    return previous


def send_messages(served: Served, count: int) -> None:
    """`count` demo messages, each from its own customer; returns once every one has its draft."""
    customers = [f"bench-{n}" for n in range(count)]
    for n, customer in enumerate(customers):
        status, _ = http("POST", f"{served.url}/demo/messages", {"text": MESSAGES[n % len(MESSAGES)], "customer_id": customer})
        if status != 202:
            raise SystemExit(f"demo message answered {status}")
    deadline = time.monotonic() + 60
    waiting = set(customers)
    while waiting and time.monotonic() < deadline:
        waiting = {c for c in waiting
                   if not (http("GET", f"{served.url}/demo/conversation?customer_id={c}")[1] or {}).get("drafts")}
        time.sleep(0.1)
    if waiting:
        raise SystemExit(f"no draft within 60 s for {sorted(waiting)}")


def one_run(draftbot: str, messages: int, folder: Path, config: Path) -> dict:
    database = folder / "draftbot.db"
    log = folder / "serve.log"
    with Served(draftbot, database, log, config) as first:
        pass
    with Served(draftbot, database, log, config) as second:
        started = settled_memory(second.process.pid)
        send_messages(second, messages)
        after = settled_memory(second.process.pid)
    return {"first_start_s": round(first.seconds, 2), "second_start_s": round(second.seconds, 2),
            "first_start_cpu_s": round(first.cpu, 2), "second_start_cpu_s": round(second.cpu, 2),
            "rss_after_start": started, "rss_after_messages": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draftbot", default=shutil.which("draftbot") or str(Path(sys.executable).parent / "draftbot"),
                        help="the draftbot command to measure (default: the one on PATH)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--config", type=Path, default=ROOT,
                        help="the folder whose intents/ and persona_styles/ are served (default: this repository's); "
                             "give two versions the same one")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    runs = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="startup-bench-") as folder:
            runs.append(one_run(args.draftbot, args.messages, Path(folder), args.config))
        print(f"run {n + 1}: {json.dumps(runs[-1], ensure_ascii=False)}", flush=True)
    median = lambda pick: round(statistics.median(pick(r) for r in runs), 2)
    summary = {
        "draftbot": args.draftbot, "config": str(args.config), "runs": len(runs), "messages": args.messages,
        **{key: median(lambda r, k=key: r[k]) for key in ("first_start_s", "second_start_s", "first_start_cpu_s", "second_start_cpu_s")},
        **{f"{when}_{part}": median(lambda r, w=when, p=part: r[f"rss_{w}"][p])
           for when in ("after_start", "after_messages") for part in ("serve_mib", "worker_mib", "total_mib")},
    }
    print("median of runs:")
    print(f"  start-up until /healthz answers: fresh SQLite file {summary['first_start_s']} s, same file again {summary['second_start_s']} s")
    print(f"  CPU the serving process used by then: {summary['first_start_cpu_s']} s and {summary['second_start_cpu_s']} s")
    for when in ("after_start", "after_messages"):
        print(f"  RSS {when.replace('_', ' ')}: serve {summary[f'{when}_serve_mib']} MiB, worker {summary[f'{when}_worker_mib']} MiB, "
              f"total {summary[f'{when}_total_mib']} MiB")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "runs": runs}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
