"""A bounded loopback load: N keep-alive connections asking for one URL for a fixed time.

``run("wrk", ...)`` uses wrk (C, one event loop per thread: little CPU of its own) with a Lua
script that counts every answer other than 200 and prints the figures; ``run("python", ...)``
is the fallback when wrk is not installed: the connections split over 2 processes of
http.client threads (on 2 cores it takes a good share of the CPU from the server it measures).
Only loopback URLs: the load stops by itself after ``seconds``.
"""
from __future__ import annotations

import http.client
import math
import multiprocessing
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

PROCESSES = 2

#: Per-thread count of answers other than 200; done() sums them and prints one line.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body) if status ~= 200 then bad = bad + 1 end end
function done(summary, latency, requests)
  local bad, e = 0, summary.errors
  for _, t in ipairs(threads) do bad = bad + t:get("bad") end
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    bad + e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass
class Result:
    requests: int
    rate: float  # per second
    p50: float  # ms
    p99: float  # ms
    bad: int  # answers other than 200, and socket errors


def run(kind: str, url: str, headers: dict[str, str], connections: int, seconds: float) -> Result:
    _check_loopback(url)
    return (_wrk if kind == "wrk" else _python)(url, headers, connections, seconds)


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise ValueError(f"load only loopback addresses, not {host!r}")


def _wrk(url: str, headers: dict[str, str], connections: int, seconds: float) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        cmd = ["wrk", f"-t{min(PROCESSES, connections)}", f"-c{connections}",
               f"-d{seconds:g}s", "--timeout", "10s", "-s", script.name]
        for name, value in headers.items():
            cmd += ["-H", f"{name}: {value}"]
        out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    requests, micros, p50, p99, bad = (int(x) for x in out.split("RESULT ")[1].split())
    return Result(requests, requests * 1e6 / micros, p50 / 1000, p99 / 1000, bad)


def _python(url: str, headers: dict[str, str], connections: int, seconds: float) -> Result:
    shares = [connections // PROCESSES + (i < connections % PROCESSES) for i in range(PROCESSES)]
    jobs = [(url, headers, n, seconds) for n in shares if n]
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        parts = pool.starmap(_process, jobs)
    times = sorted(t for part, _, _ in parts for t in part)
    elapsed = max(e for _, _, e in parts)
    return Result(len(times), len(times) / elapsed, _percentile(times, 50),
                  _percentile(times, 99), sum(b for _, b, _ in parts))


def _process(url: str, headers: dict[str, str], threads: int, seconds: float):
    """One client process: ``threads`` connections until the deadline; (ms list, bad, s)."""
    times: list[float] = []
    bad = [0]
    started = time.perf_counter()
    deadline = started + seconds
    workers = [threading.Thread(target=_connection, args=(url, headers, deadline, times, bad))
               for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return times, bad[0], time.perf_counter() - started


def _connection(url: str, headers: dict[str, str], deadline: float, times: list[float],
                bad: list[int]) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=10)
    path = parts.path + ("?" + parts.query if parts.query else "")
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        answer.read()
        times.append((time.perf_counter() - started) * 1000)
        bad[0] += answer.status != 200
    conn.close()


def _percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return math.nan
    return sorted_ms[max(0, math.ceil(p / 100 * len(sorted_ms)) - 1)]
