"""``mt5gateway serve --workers N``: a supervisor and N gateway processes on one port.

One CPython process is bound by the GIL; N full gateways (each ``app.run`` with its
own MT5 session pools, Redis client and telemetry) listen on the same ``host:port``
with ``SO_REUSEPORT`` and the kernel spreads connections over them.

The supervisor starts each worker as ``python -m mt5gateway_server serve
--worker-index I --ready-fd FD ...`` (a fresh interpreter: no forked event loop,
grpc or OpenSSL state), reserves the port first (port 0 becomes one free port for
all), collects each worker's ready block from a pipe, prints one ready block, forwards
SIGTERM/SIGINT, and replaces a worker that dies with a capped backoff. A worker that
fails before it is ready at start-up stops everything (a wrong password is not
retried against MT5), and a slot whose replacement keeps failing makes the supervisor
give up with exit code 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import io
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from mt5gateway_server.log import get_logger
from mt5gateway_server.settings import Settings, format_host_port, parse_host_port
from mt5gateway_server.webapi.retry import ExponentialBackoff
from mt5gateway_server.webapi.tasks import spawn

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "MAX_CONSECUTIVE_FAILURES",
    "RESTART_BACKOFF",
    "ReadyPipe",
    "Supervisor",
    "die_with_parent",
    "metrics_listen_for",
    "refusals",
]

_log = get_logger("workers")

# A worker that ran this long after becoming ready crashed "for real" once: its slot's
# failure count starts again. Shorter runs count as consecutive failures.
STABLE_SECONDS = 30.0
# Delay before restarting a slot after n consecutive failures: 0.5 s, 1 s, 2 s, ...
# up to 15 s (no jitter: one supervisor, nothing to spread).
RESTART_BACKOFF = ExponentialBackoff(base=0.5, cap=15.0)
# This many consecutive failures of one slot (crash before ready, or soon after):
# give up, stop the other workers, exit 1.
MAX_CONSECUTIVE_FAILURES = 5
# Start-up waits up to 15 s for MT5 and then serves anyway; this bounds the rest.
READY_TIMEOUT_SECONDS = 60.0
# After the drain of every worker: the supervisor's own margin before SIGKILL.
_STOP_MARGIN_SECONDS = 15.0


def refusals(settings: Settings) -> list[str]:
    """Why ``settings.grpc.workers > 1`` must not start (empty: it may)."""
    n = settings.grpc.workers
    if n <= 1:
        return []
    problems: list[str] = []
    if settings.demo:
        problems.append(
            f"--workers {n} needs a configured MT5 server: with --demo every worker "
            "would start its own embedded simulator, a different broker per connection"
        )
    if settings.redis.url is None:
        problems.append(
            f"--workers {n} needs Redis (MT5GW_REDIS__URL): with the in-memory "
            "idempotency store a retried money operation landing on another worker "
            "would be applied twice, and every worker would poll MT5 for quotes"
        )
    metrics = settings.telemetry.metrics_listen
    if metrics is not None:
        _, port = parse_host_port(metrics)
        if port and port + n - 1 > 65535:
            problems.append(
                f"metrics port {port} + {n - 1} (one port per worker) exceeds 65535"
            )
    return problems


def metrics_listen_for(metrics_listen: str | None, index: int) -> str | None:
    """Worker ``index``'s metrics address: the configured port + index (0 stays 0)."""
    if metrics_listen is None:
        return None
    host, port = parse_host_port(metrics_listen)
    return format_host_port(host, port + index if port else 0)


def die_with_parent() -> None:
    """Linux: SIGTERM (a graceful drain) to this worker when the supervisor dies."""
    if not sys.platform.startswith("linux"):  # pragma: no cover
        return
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)


class ReadyPipe(io.StringIO):
    """The worker's ready block: written to the supervisor's pipe on first flush,
    which is then closed (the supervisor reads to EOF)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd: int | None = fd

    def flush(self) -> None:
        super().flush()
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            data = self.getvalue().encode()
            while data:
                data = data[os.write(fd, data) :]
        except OSError:  # the supervisor is gone; nothing to tell
            pass
        finally:
            os.close(fd)


@contextlib.contextmanager
def _reserve_port(host: str, port: int) -> Iterator[socket.socket]:
    """A bound, non-listening SO_REUSEPORT socket: keeps the port (0: a free one)
    ours while workers come and go, and takes no connections itself."""
    infos = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        yield sock
    finally:
        sock.close()


@dataclass(eq=False)
class _Slot:
    index: int
    metrics_listen: str | None
    proc: asyncio.subprocess.Process | None = None
    ready: bool = False
    ready_at: float = 0.0
    failures: int = 0
    metrics_url: str = ""
    first_ready: asyncio.Event = field(default_factory=asyncio.Event)
    last_code: int | None = None
    terminated: bool = False  # SIGTERM sent to the current process


def _terminate_once(slot: _Slot) -> None:
    """SIGTERM (the graceful drain) to the slot's live worker, once per process."""
    proc = slot.proc
    if proc is None or proc.returncode is not None or slot.terminated:
        return
    slot.terminated = True
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class Supervisor:
    """Runs ``settings.grpc.workers`` worker processes until SIGTERM/SIGINT."""

    def __init__(
        self,
        settings: Settings,
        *,
        config_file: str | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.settings = settings
        self.config_file = config_file
        self.out = out if out is not None else sys.stderr
        self.host, self.port = parse_host_port(settings.grpc.listen)
        self.slots = [
            _Slot(i, metrics_listen_for(settings.telemetry.metrics_listen, i))
            for i in range(settings.grpc.workers)
        ]
        self._stopping = asyncio.Event()
        self._exit_code: int | None = None  # set by a failure that stops everything

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            with _reserve_port(self.host, self.port) as sock:
                self.port = int(sock.getsockname()[1])
                return await self._supervise()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        _log.info("supervisor_stop_requested", signal=sig.name)
        self._stopping.set()
        self._signal_workers()

    def _fail(self, code: int) -> None:
        if self._exit_code is None:
            self._exit_code = code
        self._stopping.set()
        self._signal_workers()

    def _signal_workers(self) -> None:
        for slot in self.slots:
            _terminate_once(slot)

    async def _supervise(self) -> int:
        _log.info(
            "supervisor_started",
            workers=len(self.slots),
            listen=format_host_port(self.host, self.port),
        )
        # Each slot's task runs for the supervisor's life; spawn logs a failure at
        # once (gather below would show it only at stop).
        tasks = [
            spawn(self._keep(slot), name=f"worker-{slot.index}") for slot in self.slots
        ]
        all_ready = asyncio.create_task(self._all_ready())
        stopping = asyncio.create_task(self._stopped())
        await asyncio.wait({all_ready, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if all_ready.done() and not self._stopping.is_set():
            self._print_ready()
        all_ready.cancel()
        await stopping
        grpc_settings = self.settings.grpc
        budget = (
            grpc_settings.drain_pause_seconds
            + grpc_settings.grace_period_seconds
            + _STOP_MARGIN_SECONDS
        )
        try:
            async with asyncio.timeout(budget):
                await asyncio.gather(*tasks)
        except TimeoutError:
            _log.error("supervisor_stop_timeout", seconds=budget)
            for slot in self.slots:
                if slot.proc is not None and slot.proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        slot.proc.kill()
            await asyncio.gather(*tasks)
            self._exit_code = self._exit_code or 1
        clean = all(
            slot.last_code in {None, 0}
            or (slot.last_code == -signal.SIGTERM and not slot.ready)
            for slot in self.slots
        )
        code = self._exit_code if self._exit_code is not None else (0 if clean else 1)
        _log.info("supervisor_stopped", exit_code=code)
        return code

    async def _all_ready(self) -> None:
        for slot in self.slots:
            await slot.first_ready.wait()

    async def _stopped(self) -> None:
        await self._stopping.wait()

    def _print_ready(self) -> None:
        from mt5gateway_server.app import grpcurl_hint  # noqa: PLC0415 - heavy import

        lines = [
            f"mt5gateway ready on {format_host_port(self.host, self.port)}",
            (
                f"  workers: {len(self.slots)} processes sharing the port "
                f"(SO_REUSEPORT), supervisor pid {os.getpid()}"
            ),
        ]
        for slot in self.slots:
            pid = slot.proc.pid if slot.proc is not None else 0
            metrics = f", metrics: {slot.metrics_url}" if slot.metrics_url else ""
            lines.append(f"  worker {slot.index}: pid {pid}{metrics}")
        tls = self.settings.grpc.tls_enabled
        lines.append(f"  try: {grpcurl_hint(self.port, self.host, tls=tls)}")
        print("\n".join(lines), file=self.out, flush=True)
        _log.info("workers_ready", port=self.port, workers=len(self.slots))

    def _command(self, slot: _Slot, ready_fd: int) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "mt5gateway_server",
            "serve",
            "--workers",
            str(len(self.slots)),
            "--worker-index",
            str(slot.index),
            "--ready-fd",
            str(ready_fd),
            "--listen",
            format_host_port(self.host, self.port),
        ]
        if slot.metrics_listen is not None:
            command += ["--metrics-listen", slot.metrics_listen]
        if self.config_file is not None:
            command += ["--config", self.config_file]
        return command

    async def _keep(self, slot: _Slot) -> None:
        """Start the slot's worker, and again after it dies, until stopping."""
        first = True
        while not self._stopping.is_set():
            code = await self._run_once(slot)
            if self._stopping.is_set():
                return
            ran = time.monotonic() - slot.ready_at if slot.ready else 0.0
            if first and not slot.ready:
                # Start-up failed (bad password, unreachable Redis...): retrying would
                # only hammer MT5 with the same login. Stop everything.
                print(  # noqa: T201
                    f"mt5gateway: worker {slot.index} failed to start "
                    f"({_describe_exit(code)}); stopping",
                    file=sys.stderr,
                    flush=True,
                )
                _log.error(
                    "worker_failed_at_startup",
                    index=slot.index,
                    exit=_describe_exit(code),
                )
                self._fail(code if code > 0 else 1)
                return
            first = False
            slot.failures = (
                1 if slot.ready and ran >= STABLE_SECONDS else slot.failures + 1
            )
            if slot.failures >= MAX_CONSECUTIVE_FAILURES:
                print(  # noqa: T201
                    f"mt5gateway: worker {slot.index} failed {slot.failures} times in "
                    f"a row ({_describe_exit(code)}); giving up",
                    file=sys.stderr,
                    flush=True,
                )
                _log.error("worker_giving_up", index=slot.index, failures=slot.failures)
                self._fail(1)
                return
            delay = RESTART_BACKOFF.compute(slot.failures)
            _log.warning(
                "worker_restart_scheduled",
                index=slot.index,
                exit=_describe_exit(code),
                ran_seconds=round(ran, 3),
                failures=slot.failures,
                delay_seconds=delay,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()

    async def _run_once(self, slot: _Slot) -> int:
        """One worker process from spawn to exit; its exit code."""
        slot.ready = False
        read_fd, write_fd = os.pipe()
        try:
            # Own process group: a terminal's Ctrl-C reaches the supervisor only, which
            # forwards one SIGTERM (a second one after the worker's drain removed its
            # handlers would kill it).
            proc = await asyncio.create_subprocess_exec(
                *self._command(slot, write_fd), pass_fds=(write_fd,), process_group=0
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        slot.proc = proc
        slot.terminated = False
        _log.info("worker_started", index=slot.index, worker_pid=proc.pid)
        if self._stopping.is_set():
            _terminate_once(slot)
        block = ""
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                block = await _read_to_eof(read_fd)
        except TimeoutError:
            _log.error("worker_not_ready", index=slot.index, worker_pid=proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if block.startswith("mt5gateway ready on") and proc.returncode is None:
            slot.ready = True
            slot.ready_at = time.monotonic()
            slot.metrics_url = _metrics_url(block)
            _log.info(
                "worker_ready",
                index=slot.index,
                worker_pid=proc.pid,
                metrics=slot.metrics_url or None,
            )
            slot.first_ready.set()
        code = await proc.wait()
        slot.last_code = code
        log = _log.info if self._stopping.is_set() and code == 0 else _log.warning
        log(
            "worker_exited",
            index=slot.index,
            worker_pid=proc.pid,
            exit=_describe_exit(code),
            exit_code=code,
        )
        return code


def _metrics_url(block: str) -> str:
    for line in block.splitlines():
        _, found, url = line.partition("metrics: ")
        if found:
            return url.strip()
    return ""


async def _read_to_eof(fd: int) -> str:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    pipe = os.fdopen(fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), pipe
    )
    try:
        return (await reader.read()).decode(errors="replace")
    finally:
        transport.close()
