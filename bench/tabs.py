"""How many tabs a backend pinned to 2 cores serves at 360p30, with the runtime and the pages elsewhere.

Issue 14's target is "a 2-core backend serves >= 12 tabs at 360p30". On a 2-core machine that cannot be
shown end to end (``throughput.py``): the runtime and Chromium saturate the cores at 3 tabs. This benchmark
gives the backend its 2 cores alone and puts everything else on the other cores of a bigger machine:

* **The backend**: a process holding N ``reactor_web.relay.tab.TabSession`` (each a ``Reactor`` client to
  the runtime and a ``BrowserPeer`` relay to its page, forwarding the model's encoded VP8 unchanged:
  passthrough), pinned with ``os.sched_setaffinity`` to ``--backend-cpus`` (every thread, checked again
  before each measurement). There is no Reflex in it: while a tab streams, the dashboard's Reflex websocket
  is idle apart from a stats delta every 2 s, which this process does not send (the tab's inbox still
  collects it). Signalling (the page's relay offer and the backend's answer) goes over a small JSON-lines
  control socket instead of Reflex events. ``--backend-processes K`` runs K such processes on the same
  cores, tabs spread over them: what Reflex's several workers do with Redis (``min(2 x cores + 1, ...)`` of
  them, 5 on 2 cores), the tab living on the worker that owns it and its media flowing straight there;
  cross-worker event forwarding is not modelled.
* **The runtime**: our runtime (``python -m reactor_web.runtime``, 640x360, 30 fps, frames not stamped), in
  several processes (``--tabs-per-runtime`` sessions each, 1 by default, so that no runtime's GIL limits the
  frame rate), on the other cores.
* **The pages**: aiortc peers standing in for Chromium, ``--tabs-per-pages`` per process, on the other
  cores. Each offers what the dashboard's page offers once its session declared its tracks (every declared
  track; the camera and microphone m-sections carry nothing, publishing is off), VP8, max-bundle, beats on the
  ``relay`` data channel every second like ``components.jsx``, and decodes what it receives with aiortc's
  stock receive path (jitter buffer, decoder thread), reading no pixels: it counts decoded frames per track.

Steps: N = ``--steps`` (default 1, 2, 4, 8, 12, 16), each added tab connected and kept. After
``--warmup`` seconds, frames decoded per page and CPU (psutil, % of one core) of the backend process, the
runtime processes and the page processes are taken over ``--seconds``. A step passes when every page decodes
``main_video`` at >= ``--min-fps`` (29 by default; the model sends 30); the run stops at the first step
that fails. Also shown per step: the GPU leg's frame rate as the backend's clients measure it, the relay mode
of every tab (all must be passthrough), and per role the CPU of its busiest event-loop (main) thread: one
process's Python work runs under one GIL, so a loop near 100 % is that process's limit whatever its cores.

With fewer cores than ``--backend-cpus`` plus one, everything shares the same cores (a local check of the
benchmark itself, flagged ``shared_cores`` in the results).

    python bench/tabs.py [--steps 1,2,4,8,12,16] [--backend-cpus 0,1] [--backend-processes 1] [--warmup 3]
                         [--seconds 10] [--min-fps 29] [--tabs-per-runtime 1] [--tabs-per-pages 4]
                         [--log-dir DIR] [--results-name tabs]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
from harness import LocalRuntime, fmt, free_port, loopback_media, print_table, verdict, wait_until, write_results

WIDTH, HEIGHT, FPS = 640, 360, 30
MODEL = "reactor-web-demo"
MAIN_TRACK = "main_video"
#: The page's heartbeat period and how often a beat carries stats (``components.jsx``: HEARTBEAT_MS, STATS_EVERY_BEATS).
BEAT_S = 1.0
STATS_EVERY_BEATS = 2
#: How long one tab may take from "add" to the page's first decoded frame (a loaded machine is slow).
READY_TIMEOUT_S = 30.0
RPC_TIMEOUT_S = 60.0

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


# -- the control socket: one JSON object per line each way ---------------------------------------------------


async def serve_control(port: int, handlers: dict[str, Handler]) -> None:
    """Answer ``{"op", ...}`` requests on 127.0.0.1:``port`` with ``{"ok": result}`` or ``{"error": text}``,
    one at a time per connection; the ``shutdown`` op's answer is the last, then the server stops."""

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            request = json.loads(line)
            try:
                reply: dict[str, Any] = {"ok": await handlers[request["op"]](request)}
            except Exception as exc:
                logging.exception("op %s failed", request.get("op"))
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
            if request["op"] == "shutdown":
                done.set()
                break
        writer.close()

    done = asyncio.Event()
    server = await asyncio.start_server(on_client, "127.0.0.1", port)
    async with server:
        await done.wait()


class Rpc:
    """The orchestrator's side of a worker's control socket (blocking: one request at a time)."""

    def __init__(self, port: int, process: subprocess.Popen[bytes], what: str) -> None:
        self.what = what

        def listening() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited with {process.returncode} before listening")
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=RPC_TIMEOUT_S)
                return True
            except OSError:
                return False

        wait_until(listening, 60, f"{what}'s control socket")
        self.file = self.sock.makefile("rwb")

    def call(self, op: str, **args: Any) -> Any:
        """Send one request and wait for its answer; raises ``RuntimeError`` with the worker's error."""
        self.file.write(json.dumps({"op": op, **args}).encode() + b"\n")
        self.file.flush()
        line = self.file.readline()
        if not line:
            raise RuntimeError(f"{self.what} closed its control socket during {op!r}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.what}, {op}: {reply['error']}")
        return reply["ok"]

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def pin_threads(pid: int, cpus: set[int]) -> int:
    """Restrict every thread of process ``pid`` to ``cpus`` (what ``taskset -a`` does); returns how many."""
    threads = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
            threads += 1
        except (ProcessLookupError, FileNotFoundError):
            pass  # ended in between
    return threads


def affinity_enforced(cpu: int, processes: int = 3, seconds: float = 1.0) -> float:
    """Cores' worth of CPU that ``processes`` busy loops pinned to ``cpu`` got together: about 1.0 where the
    kernel enforces affinity, about ``processes`` where it ignores it (a sandbox may)."""
    busy = (
        f"import time\nt = time.monotonic()\nwhile time.monotonic() - t < {seconds}: pass\nprint(time.process_time())"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", busy], stdout=subprocess.PIPE, preexec_fn=lambda: os.sched_setaffinity(0, {cpu})
        )
        for _ in range(processes)
    ]
    return sum(float(child.communicate()[0]) for child in children) / seconds


# -- the backend: N TabSessions, no Reflex ------------------------------------------------------------------


async def backend_main(port: int, cpus: set[int]) -> None:
    """Serve ``add`` (a tab and its GPU session, until ready), ``offer`` (the page's relay offer → answer SDP),
    ``status`` (relay modes, the GPU leg's fps, affinity), ``pin`` and ``shutdown``."""
    from reactor_web.relay.peer import RelayOffer
    from reactor_web.relay.tab import TabSession, TabSettings

    tabs: dict[int, TabSession] = {}

    async def add(request: dict[str, Any]) -> list[dict[str, str]]:
        tab = tabs[request["tab"]] = TabSession(TabSettings(MODEL, api_url=request["url"], local=True))
        tab.connect()
        async with asyncio.timeout(READY_TIMEOUT_S):
            while tab.status != "ready" or tab.capabilities() is None:
                error = tab.reactor.get_last_error()
                if tab.status == "disconnected" and error is not None:
                    raise RuntimeError(f"tab {request['tab']}: {error.code}: {error.message}")
                await asyncio.sleep(0.02)  # polling the client's status, not a wait for an event we own
        caps = tab.capabilities()
        assert caps is not None
        return [t.to_dict() for t in caps.tracks]

    async def offer(request: dict[str, Any]) -> str:
        return await tabs[request["tab"]].accept_offer(RelayOffer.parse(request["offer"]))

    async def status(_request: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"affinity": sorted(os.sched_getaffinity(0)), "tabs": {}}
        for number, tab in tabs.items():
            stats = tab.reactor.get_stats()
            out["tabs"][number] = {
                "status": tab.status,
                "relay_modes": tab.peer.relay_modes,
                "gpu_fps": None if stats is None else stats.frames_per_second,
            }
        return out

    async def pin(_request: dict[str, Any]) -> int:
        return pin_threads(os.getpid(), cpus)

    async def shutdown(_request: dict[str, Any]) -> None:
        await asyncio.gather(*(tab.close("benchmark over") for tab in tabs.values()), return_exceptions=True)

    handlers = {"add": add, "offer": offer, "status": status, "pin": pin, "shutdown": shutdown}
    await serve_control(port, handlers)


# -- the pages: aiortc peers that offer, beat and decode like the dashboard's page -------------------------


class PagePeer:
    """One page's relay peer: offers the declared tracks, beats, counts decoded frames per received track."""

    def __init__(self, tracks: list[dict[str, str]]) -> None:
        from reactor_web._aiortc import PeerOptions, create_peer_connection
        from reactor_web.ice import host_addresses_from_env

        # Chromium's stand-in: aiortc's stock jitter buffer, media on the host addresses the backend uses.
        options = PeerOptions(low_latency_jitter_buffer=False, host_addresses=host_addresses_from_env())
        self.pc = create_peer_connection(None, options)
        self.transceivers = {t["name"]: self.pc.addTransceiver(t["kind"], direction=t["direction"]) for t in tracks}
        self.tracks = tracks
        self.channel = self.pc.createDataChannel("relay")  # after the transceivers, as the page does
        self.frames: dict[str, int] = {t["name"]: 0 for t in tracks if t["direction"] == "recvonly"}
        self.first_frame = asyncio.Event()
        self.opened = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.channel.on("open", self._on_open)
        self.pc.on("track", self._on_track)

    def _on_open(self) -> None:
        self.opened.set()
        self._tasks.append(asyncio.get_running_loop().create_task(self._beat()))

    def _on_track(self, track: Any) -> None:
        name = next((n for n, t in self.transceivers.items() if t.receiver.track is track), track.id)
        self._tasks.append(asyncio.get_running_loop().create_task(self._count(name, track)))

    async def _count(self, name: str, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                await track.recv()  # decoded by aiortc's decoder thread; no pixels are read
            except MediaStreamError:
                return
            self.frames[name] = self.frames.get(name, 0) + 1
            if name == MAIN_TRACK:
                self.first_frame.set()

    async def _beat(self) -> None:
        beats, last, last_t = 0, 0, time.monotonic()
        while self.channel.readyState == "open":
            message: dict[str, Any] = {"t": int(time.time() * 1000)}
            beats += 1
            if beats % STATS_EVERY_BEATS == 0:  # like the page's getStats summary for the stats panel
                now, decoded = time.monotonic(), self.frames.get(MAIN_TRACK, 0)
                message["stats"] = {"frames_per_second": (decoded - last) / (now - last_t), "frames_decoded": decoded}
                last, last_t = decoded, now
            self.channel.send(json.dumps(message))
            await asyncio.sleep(BEAT_S)  # the heartbeat's period

    async def offer(self) -> dict[str, Any]:
        """The relay offer the page sends (``components.jsx``'s ``offer``)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        tracks = [{**t, "mid": self.transceivers[t["name"]].mid} for t in self.tracks]
        return {"id": 1, "sdp": self.pc.localDescription.sdp, "tracks": tracks}

    async def answer(self, sdp: str) -> None:
        """Apply the backend's answer; return once the relay channel is open and a frame was decoded."""
        from aiortc import RTCSessionDescription

        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        async with asyncio.timeout(READY_TIMEOUT_S):
            await self.opened.wait()
            await self.first_frame.wait()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def pages_main(port: int) -> None:
    """Serve ``open`` (a page's offer), ``answer``, ``counts`` (decoded frames so far, with this process's
    clock) and ``shutdown``."""
    pages: dict[int, PagePeer] = {}

    async def open_page(request: dict[str, Any]) -> dict[str, Any]:
        page = pages[request["tab"]] = PagePeer(request["tracks"])
        return await page.offer()

    async def answer(request: dict[str, Any]) -> None:
        await pages[request["tab"]].answer(request["sdp"])

    async def counts(_request: dict[str, Any]) -> dict[str, Any]:
        return {"t": time.monotonic(), "frames": {n: dict(p.frames) for n, p in pages.items()}}

    async def shutdown(_request: dict[str, Any]) -> None:
        await asyncio.gather(*(p.close() for p in pages.values()), return_exceptions=True)

    handlers = {"open": open_page, "answer": answer, "counts": counts, "shutdown": shutdown}
    await serve_control(port, handlers)


# -- the orchestrator --------------------------------------------------------------------------------------


class Worker:
    """A backend or pages process of this script, with its control socket."""

    def __init__(self, role: str, cpus: set[int], log: Path, extra: list[str] | None = None) -> None:
        port = free_port()
        args = [sys.executable, __file__, "--role", role, "--control-port", str(port), *(extra or [])]
        with log.open("ab") as out:
            # Pinned from its first instruction: threads started at import (numpy's) inherit the affinity.
            self.process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, preexec_fn=lambda: os.sched_setaffinity(0, cpus)
            )
        self.psutil = psutil.Process(self.process.pid)
        self.rpc = Rpc(port, self.process, f"{role} (log {log})")

    def stop(self) -> None:
        try:
            self.rpc.call("shutdown")
        except (RuntimeError, OSError) as exc:
            print(f"  {self.rpc.what}: shutdown failed: {exc}")
        self.rpc.close()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds of ``processes`` so far (all their threads)."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def loop_seconds(processes: list[psutil.Process]) -> list[float]:
    """CPU seconds so far of each process's main thread: where its asyncio event loop runs, and so the thread
    that one process's Python work (under the GIL) cannot spread over more cores."""
    out = []
    for proc in processes:
        try:
            main = next((t for t in proc.threads() if t.id == proc.pid), None)
        except psutil.NoSuchProcess:
            main = None
        out.append(0.0 if main is None else main.user_time + main.system_time)
    return out


class Bench:
    """The runtimes, the backend and the pages of one run; tabs added step by step."""

    def __init__(self, args: argparse.Namespace, backend_cpus: set[int], other_cpus: set[int]) -> None:
        self.args, self.backend_cpus, self.other_cpus = args, backend_cpus, other_cpus
        self.log_dir: Path = args.log_dir
        self.runtimes: list[LocalRuntime] = []
        self.pages: list[Worker] = []
        self.backends = [
            Worker("backend", backend_cpus, self.log_dir / f"backend{i}.log", ["--backend-cpus", args.cpus_text])
            for i in range(args.backend_processes)
        ]
        self.tabs = 0

    def runtime_for(self, tab: int) -> LocalRuntime:
        index = tab // self.args.tabs_per_runtime
        while len(self.runtimes) <= index:
            runtime = LocalRuntime(
                self.log_dir / f"runtime{len(self.runtimes)}.log",
                stamp=False,
                max_sessions=self.args.tabs_per_runtime,
                fps=FPS,
            )
            runtime.start(WIDTH, HEIGHT)  # inherits this process's affinity: the other cores
            self.runtimes.append(runtime)
        return self.runtimes[index]

    def pages_for(self, tab: int) -> Worker:
        index = tab // self.args.tabs_per_pages
        while len(self.pages) <= index:
            self.pages.append(Worker("pages", self.other_cpus, self.log_dir / f"pages{len(self.pages)}.log"))
        return self.pages[index]

    def add_tab(self) -> None:
        """One more tab: its GPU session ready, then its page's relay up and decoding."""
        tab = self.tabs
        runtime, pages = self.runtime_for(tab), self.pages_for(tab)
        backend = self.backends[tab % len(self.backends)]
        tracks = backend.rpc.call("add", tab=tab, url=runtime.url)
        offer = pages.rpc.call("open", tab=tab, tracks=tracks)
        answer = backend.rpc.call("offer", tab=tab, offer=offer)
        pages.rpc.call("answer", tab=tab, sdp=answer)
        self.tabs += 1

    def processes(self) -> dict[str, list[psutil.Process]]:
        return {
            "backend": [b.psutil for b in self.backends],
            "runtime": [r.psutil_process for r in self.runtimes],
            "pages": [p.psutil for p in self.pages],
        }

    def counts(self) -> dict[int, tuple[float, dict[str, int]]]:
        """Frames decoded so far by every page, with the time its process read them."""
        out: dict[int, tuple[float, dict[str, int]]] = {}
        for worker in self.pages:
            reply = worker.rpc.call("counts")
            for tab, frames in reply["frames"].items():
                out[int(tab)] = (reply["t"], frames)
        return out

    def measure(self) -> dict[str, Any]:
        """Warm up, then every page's decoded fps and each role's CPU over ``--seconds``."""
        threads = sum(b.rpc.call("pin") for b in self.backends)
        time.sleep(self.args.warmup)
        procs = self.processes()
        cpu0, t0 = {k: cpu_seconds(v) for k, v in procs.items()}, time.monotonic()
        loop0 = {k: loop_seconds(v) for k, v in procs.items()}
        counts0 = self.counts()
        time.sleep(self.args.seconds)
        counts1 = self.counts()
        elapsed = time.monotonic() - t0
        cpu = {k: 100.0 * (cpu_seconds(v) - cpu0[k]) / elapsed for k, v in procs.items()}
        # The busiest event-loop thread of each role: near 100 % means that process is at its GIL's limit.
        loop = {
            k: max((100.0 * (b - a) / elapsed for a, b in zip(loop0[k], loop_seconds(v), strict=True)), default=0.0)
            for k, v in procs.items()
        }
        fps: dict[str, list[float]] = {}
        for tab in sorted(counts1):
            (ta, before), (tb, after) = counts0[tab], counts1[tab]
            for track in after:
                fps.setdefault(track, []).append((after[track] - before.get(track, 0)) / (tb - ta))
        statuses = [b.rpc.call("status") for b in self.backends]
        tabs = [t for status in statuses for t in status["tabs"].values()]
        modes = [m for t in tabs for m in t["relay_modes"].values()]
        gpu_fps = [t["gpu_fps"] for t in tabs if t["gpu_fps"] is not None]
        main = fps.get(MAIN_TRACK, [])
        return {
            "tabs": self.tabs,
            "main_fps": main,
            "fps_by_track": fps,
            "min_fps": min(main, default=0.0),
            "median_fps": statistics.median(main) if main else 0.0,
            "gpu_leg_fps_median": statistics.median(gpu_fps) if gpu_fps else None,
            "cpu_percent": cpu,
            "busiest_loop_thread_percent": loop,
            "backend_threads": threads,
            "backend_affinity": sorted({c for status in statuses for c in status["affinity"]}),
            "relay_modes": {m: modes.count(m) for m in set(modes)},
            "runtime_processes": len(self.runtimes),
            "page_processes": len(self.pages),
            "load_average_1m": os.getloadavg()[0],
            "passed": bool(main) and len(main) == self.tabs and min(main) >= self.args.min_fps,
        }

    def close(self) -> None:
        for worker in self.pages:
            worker.stop()
        for backend in self.backends:
            backend.stop()
        for runtime in self.runtimes:
            runtime.stop()


def row(step: dict[str, Any]) -> list[Any]:
    cpu = step["cpu_percent"]
    return [
        step["tabs"],
        fmt(step["min_fps"]),
        fmt(step["median_fps"]),
        fmt(step["gpu_leg_fps_median"]),
        fmt(cpu["backend"]),
        fmt(cpu["backend"] / step["tabs"], 2),
        fmt(step["busiest_loop_thread_percent"]["backend"]),
        fmt(cpu["runtime"]),
        fmt(step["busiest_loop_thread_percent"]["runtime"]),
        fmt(cpu["pages"]),
        fmt(step["busiest_loop_thread_percent"]["pages"]),
        ", ".join(f"{n} {m}" for m, n in sorted(step["relay_modes"].items())),
        verdict(step["passed"]),
    ]


def orchestrate(args: argparse.Namespace) -> None:
    """Run the steps and report them."""
    loopback_media()  # every WebRTC leg on 127.0.0.1; the workers and runtimes inherit the setting
    everything = set(os.sched_getaffinity(0))
    backend_cpus = set(args.backend_cpus)
    if not backend_cpus <= everything:
        raise SystemExit(f"--backend-cpus {sorted(backend_cpus)} are not all available here ({sorted(everything)})")
    other_cpus = everything - backend_cpus
    shared = not other_cpus
    if shared:
        print(f"only {len(everything)} cores: the runtime and the pages share the backend's cores (a local check)")
        other_cpus = everything
    os.sched_setaffinity(0, other_cpus)  # the runtimes and the pages inherit it
    args.log_dir.mkdir(parents=True, exist_ok=True)
    print(f"backend on CPUs {sorted(backend_cpus)}; runtimes and pages on {sorted(other_cpus)}; logs in {args.log_dir}")
    load_at_start = os.getloadavg()
    pinned = affinity_enforced(min(backend_cpus))
    print(f"3 busy processes pinned to CPU {min(backend_cpus)} got {pinned:.2f} cores (1.00: affinity is enforced)")
    steps: list[dict[str, Any]] = []
    error: str | None = None
    bench = Bench(args, backend_cpus, other_cpus)
    try:
        for n in args.steps:
            while bench.tabs < n:
                bench.add_tab()
            step = bench.measure()
            steps.append(step)
            cpu, loop = step["cpu_percent"], step["busiest_loop_thread_percent"]
            print(
                f"  {n} tab(s): main_video fps min {step['min_fps']:.1f} median {step['median_fps']:.1f}; CPU % "
                f"backend {cpu['backend']:.1f} (loop {loop['backend']:.0f}), runtime {cpu['runtime']:.0f} "
                f"(loop {loop['runtime']:.0f}), pages {cpu['pages']:.0f} (loop {loop['pages']:.0f}); "
                f"{verdict(step['passed'])}",
                flush=True,
            )
            if not step["passed"]:
                break
    except Exception as exc:  # report what was measured, and why it stopped
        error = f"{type(exc).__name__}: {exc}"
        print(f"stopped at {bench.tabs} tab(s): {error}", flush=True)
    finally:
        bench.close()
    served = max((s["tabs"] for s in steps if s["passed"]), default=0)
    print(
        f"\ntabs at {WIDTH}x{HEIGHT}@{FPS}, {args.backend_processes} backend process(es) pinned to CPUs "
        f"{sorted(backend_cpus)} (CPU in % of one core; 'loop': the busiest event-loop thread of that role)"
    )
    headers = ["tabs", "min fps", "median fps", "GPU leg fps", "backend", "backend/tab", "backend loop"]
    headers += ["runtime", "runtime loop", "pages", "pages loop"]
    print_table([*headers, "relay modes", f">= {args.min_fps:g} fps"], [row(s) for s in steps])
    print(f"tabs served with every page decoding >= {args.min_fps:g} fps: {served}" + (" (shared cores)" * shared))
    options = {k: v for k, v in vars(args).items() if k not in ("role", "control_port", "cpus_text")}
    options.update(
        backend_cpus=sorted(backend_cpus),
        other_cpus=sorted(other_cpus),
        shared_cores=shared,
        load_average_at_start=load_at_start,
        affinity_check_cores=pinned,
        nproc=os.cpu_count(),
    )
    results = {"steps": steps, "tabs_served": served, "min_fps": args.min_fps, "error": error}
    write_results(args.results_name, options, results)


def cpu_list(text: str) -> list[int]:
    return [int(c) for c in text.split(",") if c.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=cpu_list, default=[1, 2, 4, 8, 12, 16], help="tab counts, increasing")
    parser.add_argument("--backend-cpus", type=cpu_list, default=[0, 1], help="the backend's cores")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds after each step's last tab, not counted")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per step")
    parser.add_argument("--min-fps", type=float, default=29.0, help="every page must decode at least this")
    parser.add_argument(
        "--backend-processes",
        type=int,
        default=1,
        help="backend processes sharing --backend-cpus, tabs spread over them (Reflex's workers with Redis)",
    )
    parser.add_argument("--tabs-per-runtime", type=int, default=1, help="sessions per runtime process")
    parser.add_argument("--tabs-per-pages", type=int, default=4, help="pages per page process")
    parser.add_argument("--log-dir", type=Path, default=None, help="logs of every process (default: a temp dir)")
    parser.add_argument("--results-name", default="tabs", help="written to bench/results/<name>.json")
    roles = ["orchestrator", "backend", "pages"]
    parser.add_argument("--role", choices=roles, default="orchestrator", help=argparse.SUPPRESS)
    parser.add_argument("--control-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.role == "backend":
        asyncio.run(backend_main(args.control_port, set(args.backend_cpus)))
    elif args.role == "pages":
        asyncio.run(pages_main(args.control_port))
    else:
        if args.steps != sorted(args.steps):
            parser.error("--steps must increase")
        args.cpus_text = ",".join(map(str, args.backend_cpus))
        args.log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="bench-tabs-"))
        orchestrate(args)


if __name__ == "__main__":
    main()
