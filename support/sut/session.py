"""A synchronous MCP session with one server under test (SUT), over stdio or Streamable HTTP.

:class:`SutSession` drives a server with the official MCP SDK's ``ClientSession``. The SDK
is asynchronous; steps are not. So each session runs its own asyncio loop in a daemon
thread, every request is submitted with ``run_coroutine_threadsafe`` and every wait is
bounded. Two transports feed the same session, so deadlines, error attribution and the
transcript are the same for both:

- **stdio** (``argv``): our own transport, not the SDK's ``stdio_client``. The SDK's reader
  joins each 64 KiB chunk onto the pending text (``buffer + chunk``), which copies the whole
  line again for every chunk: a 30 MiB reply costs ~480 copies of up to 30 MiB (measured in
  ``bench/sut_replies.py``: 12.7 s for 30 MiB, superlinear). Ours appends bytes to a
  ``bytearray`` and searches only the new chunk for the newline (linear), parses each line
  with the SDK's own ``jsonrpc_message_adapter`` and hands the SDK's ``SessionMessage`` to
  the session through memory streams, like the SDK's transport does. Owning the reader also
  gives: a cap on one line (``max_reply``, ``--sut-max-reply``), a line whose first byte
  cannot start JSON named at once (bounded memory, no wait for a newline that never
  comes), and the byte count and time of the last byte, so a missed deadline says whether
  bytes were still arriving.
- **Streamable HTTP** (``url``): the SDK's ``streamable_http_client`` (its SSE events are
  capped at ``max_reply`` too).

What it guarantees (the traps listed in ../shared/notes/mcp-servers.md):

- **stderr never blocks the SUT**: it goes to ``<workdir>/stderr.log``, never to a pipe;
  failures quote its tail (masked).
- **a deadline on every request**: a request that gets no reply in time raises
  :class:`SutTimeout` (SUT, method, seconds, whether bytes were still arriving, stderr
  tail); the process is stopped and the session is dead, so the next user restarts it.
- **a crash is named**: :class:`SutCrashed` with the exit code and the stderr tail; a
  known cause (the SDK's "Unsupported protocol version …", an executable that cannot be
  started) is kept in the message, never replaced by a guess.
- **stdout is the protocol**: a line that is not JSON-RPC fails the pending request (and
  every later one until a restart) with :class:`SutStreamError` "the server wrote
  non-protocol output: …" instead of leaving it to hang; a line longer than ``max_reply``
  fails with :class:`SutReplyTooLarge`. Output that arrives *after* a correct reply is
  caught by :meth:`SutSession.check_quiet`, which the plugin runs at each scenario's end.
- **a sandbox**: the SUT runs in a new session and process group with a private HOME and
  working directory under ``workdir`` and an environment holding only PATH, HOME, LANG and
  what its profile gives.
- **nothing outlives it**: the SUT is started under :func:`support.procs.supervise`, a child
  subreaper, so every process it starts stays in one tree whatever session it creates;
  :meth:`SutSession.close` ends that tree and records in :attr:`SutSession.escaped` any
  process that survived (:meth:`SutSession.left_processes_error` turns them into
  :class:`SutLeftProcesses`).
- **a transcript**: each request and its reply or error, masked by
  :func:`support.secrets.mask_obj`, for the report (:meth:`SutSession.take_transcript`).
"""
from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import contextlib
import os
import signal
import threading
import time
import weakref
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import anyio
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from support import procs, timings
from support.errors import (  # noqa: F401 (re-exported)
    SutCrashed, SutError, SutLeftProcesses, SutProtocolError, SutReplyTooLarge, SutStreamError, SutTimeout,
)
from support.secrets import mask, mask_obj
from support.waits import WaitTimeout, wait_for

MIB = 1024 * 1024
DEFAULT_MAX_REPLY = 256 * MIB   # bytes of one JSON-RPC line (--sut-max-reply)
DEFAULT_DRAIN = 0.5             # seconds after the last reply during which late output is awaited
_EXIT_MARK = "[raptorspec] server exited with code "
_CLIENT_INFO = types.Implementation(name="raptorspec", version="0.1")
_CLOSE_TIMEOUT = 15.0   # bound on the loop thread's own shutdown (stdin close 2 s, TERM 2 s, KILL 2 s)
_EXIT_GRACE = 2.0       # after stdin closes, before SIGTERM (the MCP spec's shutdown order)
_READ_CHUNK = MIB
_QUOTE = 2000           # bytes of a non-protocol line kept for messages
_TAIL_BYTES = 256 * 1024
_LIVE: "weakref.WeakSet[SutSession]" = weakref.WeakSet()


class _Garbage(Exception):
    """Raised inside the loop when a non-protocol line was seen (mapped to SutStreamError)."""


def _size(n: int) -> str:
    return f"{n / MIB:g} MiB" if n >= MIB else f"{n} bytes"


class SutSession:
    """One MCP client session with one SUT. Thread-safe: several threads may have requests
    pending at once (:attr:`concurrent_calls`); start, restart, close and the end-of-scenario
    check take the session's lock.

    ``argv`` is the server's command line (stdio), ``env`` what its profile adds to
    PATH/HOME/LANG, ``workdir`` a directory of its own (created): ``home/`` and ``cwd/`` for
    the SUT, and ``stderr.log``. With ``url`` (and an empty ``argv``) the session speaks
    Streamable HTTP to a server someone else runs. ``start_timeout`` bounds the spawn and the
    initialize handshake, ``call_timeout`` every later request unless a call passes its own
    ``timeout`` (seconds). ``max_reply`` caps one message (bytes); ``drain`` is how long
    (seconds) after the last reply :meth:`check_quiet` waits for late output.
    """

    #: Two requests may be pending at once: the lock is not held while a reply is awaited
    #: (support/discovery.py reads this before sending calls side by side).
    concurrent_calls = True

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        workdir: Path,
        *,
        url: str | None = None,
        start_timeout: float = 60.0,
        call_timeout: float = 60.0,
        max_reply: int = DEFAULT_MAX_REPLY,
        drain: float = DEFAULT_DRAIN,
    ):
        if not argv and not url:
            raise ValueError(f"SUT {name}: empty command line and no URL")
        self.name = name
        self.argv = [str(a) for a in argv]
        self.url = url
        self.env = dict(env)
        self.workdir = Path(workdir)
        self.start_timeout = start_timeout
        self.call_timeout = call_timeout
        self.max_reply = int(max_reply)
        self.drain = drain
        self.home = self.workdir / "home"
        self.cwd = self.workdir / "cwd"
        self.stderr_path = self.workdir / "stderr.log"
        self.transcript: list[dict[str, Any]] = []
        self.server_info: dict[str, Any] | None = None
        self.starts = 0
        self.escaped: list[str] = []       # processes that survived close(), described
        self.peak_line_bytes = 0           # the longest pending stdout line held in memory
        self.reported = False              # a failure of this process was already raised to a caller
        self.user = ""                     # the scenario (node id) using the session now (the plugin sets it)
        self._lock = threading.RLock()
        self._in_flight = 0                # requests sent whose reply is awaited (pending())
        self._stderr_offset = 0
        self._reset_state()
        self._dead = None

    # ---------------------------------------------------------------- lifecycle

    def _reset_state(self) -> None:
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main_task: asyncio.Task | None = None
        self._session: ClientSession | None = None
        self._fault: asyncio.Event | None = None
        self._noise = threading.Event()     # set with every fault, for check_quiet
        self._garbage: list[str] = []
        self._too_large: str | None = None
        self._eof = False
        self._dead: str | None = None
        self._proc: Any = None
        self._pgid: int | None = None
        self._tracker: procs.Tracker | None = None
        self._stderr_fh = None
        self._bytes_in = 0                  # stdout bytes received since start
        self._last_byte = 0.0               # monotonic time of the last stdout byte
        self._pending = 0                   # bytes of the unfinished stdout line
        self._last_exchange = 0.0           # monotonic time of the last request's end
        #: the last requests' (end, what, user): ``what`` as "tools/call (tool 'x')", ``user`` a node id
        self._recent: collections.deque[tuple[float, str, str]] = collections.deque(maxlen=3)
        #: when the first fault since start came, and the requests before it
        self._first_fault: tuple[float, list[tuple[float, str, str]]] | None = None

    @property
    def transport(self) -> str:
        """``"http"`` or ``"stdio"``."""
        return "http" if self.url else "stdio"

    def child_environment(self) -> dict[str, str]:
        """The complete environment the SUT process gets."""
        base = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
        }
        return base | self.env

    def start(self) -> "SutSession":
        """Spawn the SUT (or connect to its URL) and complete the MCP initialize handshake.

        Bounded by ``start_timeout``. Raises :class:`SutTimeout`, :class:`SutCrashed`,
        :class:`SutStreamError` or :class:`SutProtocolError` (the SDK's own cause, e.g. an
        unsupported protocol version); on any failure the process is stopped first.
        """
        with self._lock:
            if self._thread is not None and self._dead is None:
                return self
            if self._thread is not None:
                self.close()
            self._dead = None
            self.reported = False
            for d in (self.home, self.cwd):
                d.mkdir(parents=True, exist_ok=True)
            self.starts += 1
            self._stderr_fh = open(self.stderr_path, "ab", buffering=0)
            self._stderr_fh.write(f"[raptorspec] start #{self.starts} of {self.name}\n".encode())
            self._stderr_offset = self._stderr_fh.tell()
            ready: concurrent.futures.Future = concurrent.futures.Future()
            self._thread = threading.Thread(
                target=self._thread_main, args=(ready,), name=f"sut-{self.name}", daemon=True
            )
            _LIVE.add(self)
            t0 = time.monotonic()
            try:
                self._thread.start()
                try:
                    init = ready.result(timeout=self.start_timeout)
                except concurrent.futures.TimeoutError:
                    self._dead = f"did not complete the MCP initialize handshake within {self.start_timeout:g}s"
                    raise SutTimeout(self._describe(
                        f"no reply to initialize within {self.start_timeout:g}s{self._arrival(t0)}")) from None
                except SutError:
                    raise
                except _Garbage:
                    raise self._stream_error("initialize") from None
                except MCPError as exc:
                    if exc.code == types.CONNECTION_CLOSED:
                        raise self._crash_error("initialize", exc) from None
                    self._dead = f"refused initialize: {exc.message}"
                    raise SutProtocolError(self._describe(f"initialize was answered with an error: {exc.message}"),
                                           exc.code) from None
                except ValidationError as exc:
                    self._dead = "sent an initialize reply that is not valid MCP"
                    raise SutProtocolError(self._describe(
                        f"the reply to initialize is not valid MCP: {_short(str(exc))}")) from None
                except OSError as exc:
                    raise self._crash_error("initialize", exc) from None
                except Exception as exc:  # noqa: BLE001 - the SDK's own refusal: keep its words
                    self._dead = f"failed initialize: {exc}"
                    raise SutProtocolError(self._describe(
                        f"initialize failed: {type(exc).__name__}: {exc}")) from None
                self.server_info = mask_obj(
                    init.server_info.model_dump(mode="json", by_alias=True, exclude_none=True)
                    if getattr(init, "server_info", None) else {}
                )
                self._last_exchange = time.monotonic()
                self._record("initialize", self._start_request(), self.server_info, None, time.monotonic() - t0)
                return self
            except BaseException as exc:
                if not isinstance(exc, SutError):
                    self._dead = f"failed to start: {type(exc).__name__}: {exc}"
                self.reported = True
                self._record("initialize", self._start_request(), None, str(exc), time.monotonic() - t0)
                self.close()
                raise

    def restart(self, reason: str | None = None) -> "SutSession":
        """Close whatever is left of the SUT and start a fresh one.

        ``reason`` (why the old one was given up) goes to the transcript, so a restart is
        never silent in the report.
        """
        with self._lock:
            if reason:
                self._record("restart", {"reason": reason}, None, None, 0.0)
            self.close()
            return self.start()

    def close(self) -> list[str]:
        """Stop the SUT, every process it started, and the loop thread. Idempotent.

        Returns (and appends to :attr:`escaped`) descriptions of processes of the SUT's tree
        that were still running after being killed; empty when nothing is left.
        """
        with self._lock:
            thread, loop, task = self._thread, self._loop, self._main_task
            if thread is None:
                return []
            tracker = self._tracker
            if tracker is not None:
                tracker.sample()   # before anything is killed: the tree is still linked
            if loop is not None and not loop.is_closed():
                try:
                    if task is not None:
                        loop.call_soon_threadsafe(task.cancel)
                    else:
                        loop.call_soon_threadsafe(loop.stop)
                except RuntimeError:
                    pass  # the loop closed in between
            thread.join(_CLOSE_TIMEOUT)
            left: list[str] = []
            if self._pgid is not None:
                procs.kill_group(self._pgid)
            if tracker is not None:
                left = tracker.end()
            self.escaped += left
            if self._stderr_fh is not None:
                if left:
                    self._stderr_fh.write(
                        ("[raptorspec] still running after close: " + "; ".join(left) + "\n").encode())
                self._stderr_fh.close()
            dead = self._dead
            pgid = self._pgid
            self._reset_state()
            self._pgid = pgid          # kept for callers that check the group is gone
            self._dead = dead or "closed"
            return left

    def left_processes_error(self) -> SutLeftProcesses | None:
        """A :class:`SutLeftProcesses` naming every process that outlived :meth:`close`, or None."""
        if not self.escaped:
            return None
        return SutLeftProcesses(
            f"SUT {self.name}: {len(self.escaped)} process(es) it started were still running after it was "
            f"closed and could not be ended: " + "; ".join(self.escaped))

    def alive(self) -> str | None:
        """None while the SUT can answer; otherwise a sentence saying why it cannot."""
        if self._thread is None:
            return f"SUT {self.name} is not running ({self._dead or 'never started'})"
        if self._dead:
            return f"SUT {self.name} {self._dead}"
        if self._too_large:
            return f"SUT {self.name} {self._too_large}"
        if self._garbage:
            return f"SUT {self.name} wrote non-protocol output on stdout: {self._garbage[0][:200]!r}"
        code = self._exit_code()
        if code is not None:
            return f"SUT {self.name} exited with code {code}"
        if self._eof:
            code = self._await_exit(2.0)   # stdout ends a moment before the exit is seen
            if code is not None:
                return f"SUT {self.name} exited with code {code}"
            return f"SUT {self.name} closed its {'connection' if self.url else 'stdout'}"
        if not self._thread.is_alive():
            return f"SUT {self.name}: its session thread ended"
        return None

    def check_quiet(self, drain: float | None = None, when: str = "this scenario") -> None:
        """End-of-scenario check: raise if the SUT broke the protocol or died since its last reply.

        Waits until ``drain`` seconds (default :attr:`drain`) have passed since the last
        request ended (not at all when they already have), or less if something goes wrong
        sooner. Raises :class:`SutStreamError` quoting late non-protocol output (e.g. a
        ``[WebSocket] Closed`` logged on stdout after a correct reply), or
        :class:`SutCrashed` when the SUT exited. Does nothing when the session is not running
        or its failure was already raised to a caller (:attr:`reported`). ``when`` names the
        period in messages ("this scenario", "the run").
        """
        __tracebackhide__ = True   # the failure is the SUT's, not a line of ours
        with self._lock:
            if self._thread is None or self.reported:
                return
            drain = self.drain if drain is None else drain
            remaining = self._last_exchange + drain - time.monotonic()
            if remaining > 0 and not self._noise.is_set():
                self._noise.wait(remaining)
            if self._garbage or self._too_large:
                self.reported = True
                raise self._stream_error(f"after its last reply in {when}", note=self._fault_origin())
            why = self.alive()
            if why:
                self.reported = True
                raise SutCrashed(self._describe(f"found at the end of {when}: {why}", note=self._fault_origin()))

    @property
    def pgid(self) -> int | None:
        """The process group id of the SUT's supervisor (the group leader), once started."""
        return self._pgid

    def __enter__(self) -> "SutSession":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
    # ---------------------------------------------------------------- MCP requests

    def list_tools(self) -> list[dict[str, Any]]:
        """Every tool the SUT declares: dicts with name, description, inputSchema."""
        async def go(s: ClientSession) -> list[dict[str, Any]]:
            tools, cursor = [], None
            while True:
                page = await s.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
                tools += [
                    {"name": t.name, "description": t.description or "", "inputSchema": t.input_schema}
                    for t in page.tools
                ]
                cursor = page.next_cursor
                if not cursor:
                    return tools
        return self._request("tools/list", {}, go)

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None, timeout: float | None = None) -> dict[str, Any]:
        """Call a tool; return ``{"is_error", "texts", "structured", "seconds"}``.

        The SDK's client-side output-schema check is skipped on purpose: a reply that breaks
        its own schema is the SUT's problem for the profile to read, not a client crash.
        """
        request = {"name": name, "arguments": arguments or {}}
        t0 = time.monotonic()

        async def go(s: ClientSession) -> dict[str, Any]:
            result = await s.send_request(
                types.CallToolRequest(params=types.CallToolRequestParams(name=name, arguments=arguments or {})),
                types.CallToolResult,
            )
            return {
                "is_error": bool(result.is_error),
                "texts": [_content_text(c) for c in result.content],
                "structured": result.structured_content,
            }

        reply = self._request("tools/call", request, go, timeout=timeout, detail=f"tool {name!r}")
        reply["seconds"] = round(time.monotonic() - t0, 3)
        return reply

    def list_resources(self) -> list[dict[str, Any]]:
        async def go(s: ClientSession) -> list[dict[str, Any]]:
            res = await s.list_resources()
            return [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in res.resources]
        return self._request("resources/list", {}, go)

    def list_resource_templates(self) -> list[dict[str, Any]]:
        async def go(s: ClientSession) -> list[dict[str, Any]]:
            res = await s.list_resource_templates()
            return [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in res.resource_templates]
        return self._request("resources/templates/list", {}, go)

    def read_resource(self, uri: str, timeout: float | None = None) -> dict[str, Any]:
        """Read a resource; return ``{"texts": [...], "blobs": [base64...]}``."""
        async def go(s: ClientSession) -> dict[str, Any]:
            res = await s.read_resource(uri)
            texts = [c.text for c in res.contents if getattr(c, "text", None) is not None]
            blobs = [c.blob for c in res.contents if getattr(c, "blob", None) is not None]
            return {"texts": texts, "blobs": blobs}
        return self._request("resources/read", {"uri": uri}, go, timeout=timeout, detail=f"resource {uri!r}")

    def list_prompts(self) -> list[dict[str, Any]]:
        async def go(s: ClientSession) -> list[dict[str, Any]]:
            res = await s.list_prompts()
            return [p.model_dump(mode="json", by_alias=True, exclude_none=True) for p in res.prompts]
        return self._request("prompts/list", {}, go)

    def get_prompt(self, name: str, arguments: dict[str, str] | None = None, timeout: float | None = None) -> dict[str, Any]:
        """Render a prompt; return ``{"description", "messages": [text...]}``."""
        args = {k: str(v) for k, v in (arguments or {}).items()}

        async def go(s: ClientSession) -> dict[str, Any]:
            res = await s.get_prompt(name, args)
            return {
                "description": res.description,
                "messages": [_content_text(m.content) for m in res.messages],
            }
        return self._request("prompts/get", {"name": name, "arguments": args}, go, timeout=timeout,
                             detail=f"prompt {name!r}")

    # ---------------------------------------------------------------- transcript and logs

    def take_transcript(self) -> list[dict[str, Any]]:
        """Return the transcript so far and start a new one."""
        with self._lock:
            out, self.transcript = self.transcript, []
            return out

    def stderr_tail(self, n: int = 40) -> str:
        """The last ``n`` lines the current SUT process wrote on stderr (masked)."""
        if self.url and not self.stderr_path.exists():
            return ""
        try:
            with open(self.stderr_path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                start = max(self._stderr_offset if self._thread else 0, size - _TAIL_BYTES)
                fh.seek(start)
                data = fh.read()
        except OSError:
            return ""
        lines = data.decode("utf-8", "replace").splitlines()
        return mask("\n".join(lines[-n:]))

    # ---------------------------------------------------------------- internals: the loop

    def _start_request(self) -> dict[str, Any]:
        return {"url": self.url} if self.url else {"argv": self.argv}

    def _thread_main(self, ready: concurrent.futures.Future) -> None:
        try:
            asyncio.run(self._main(ready))
        except BaseException as exc:  # noqa: BLE001 - reported through `ready` or alive()
            exc = _unwrap(exc)
            if not ready.done():
                ready.set_exception(exc)
            elif self._dead is None and not isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
                self._dead = f"lost its session: {type(exc).__name__}: {exc}"
        finally:
            if not ready.done():
                ready.set_exception(SutCrashed(f"SUT {self.name}: the session ended before initialize"))
            self._noise.set()

    async def _main(self, ready: concurrent.futures.Future) -> None:
        self._loop = asyncio.get_running_loop()
        self._main_task = asyncio.current_task()
        self._fault = asyncio.Event()
        transport = self._http_transport() if self.url else self._stdio_transport()
        async with transport as (read, write):
            async with ClientSession(read, write, client_info=_CLIENT_INFO) as session:
                self._session = session
                init = await self._guarded(lambda s: s.initialize())
                ready.set_result(init)
                await anyio.sleep_forever()

    def _set_fault(self) -> None:
        if self._first_fault is None:   # for the end-of-scenario check: which requests it followed
            self._first_fault = (time.monotonic(), list(self._recent))
        if self._fault is not None:
            self._fault.set()
        self._noise.set()

    def _fault_origin(self) -> str:
        """For a fault the end-of-scenario check found: the requests it came after, with their
        scenarios and how long before it each ended (``""`` when none). Output that comes later
        than the drain after a scenario's last reply is found by a later scenario's check; when
        a request it followed was another scenario's, the message says so, so that the scenario
        that caused it can be told from the one charged."""
        if self._first_fault is None or not self._first_fault[1]:
            return ""
        at, recent = self._first_fault
        parts = [f"{what}{f' of {user}' if user else ''} ({max(0.0, at - end):.1f}s before)"
                 for end, what, user in reversed(recent)]
        text = "\nIt came after the SUT's replies to " + "; ".join(parts) + "."
        if any(user and user != self.user for _, _, user in recent):
            text += (f" Output later than a scenario's end-of-scenario check ({self.drain:g}s after its last reply) "
                     "is found by the next check: it may come from an earlier scenario's request named here.")
        return text

    @contextlib.asynccontextmanager
    async def _stdio_transport(self) -> AsyncIterator[tuple[Any, Any]]:
        """Spawn the SUT under the supervisor; yield the session's read and write streams."""
        proc = await anyio.open_process(
            procs.supervised(self.argv),
            env=self.child_environment(),
            cwd=str(self.cwd),
            stderr=self._stderr_fh,
            start_new_session=True,
        )
        self._proc = proc
        self._pgid = proc.pid
        self._tracker = procs.Tracker(proc.pid)
        read_send, read_recv = anyio.create_memory_object_stream[SessionMessage](0)
        write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._read_stdout, proc, read_send)
            tg.start_soon(self._write_stdin, proc, write_recv)
            try:
                yield read_recv, write_send
            finally:
                with anyio.CancelScope(shield=True):
                    await self._stop_process(proc)
                    for stream in (read_recv, write_send):
                        await stream.aclose()
                tg.cancel_scope.cancel()

    async def _read_stdout(self, proc: Any, send: Any) -> None:
        """Split stdout into lines (linear time), parse each, deliver messages in order.

        A line whose first non-blank byte cannot start a JSON-RPC message (``{`` or ``[``)
        is noted as non-protocol output at once, and one over ``max_reply`` bytes as too
        large; the rest of such a line is counted and dropped (memory stays bounded).
        """
        buf = bytearray()
        skipping = False        # dropping the rest of a bad line
        checked = False         # the first byte of the pending line was looked at
        try:
            async with send:
                while True:
                    try:
                        chunk = await proc.stdout.receive(_READ_CHUNK)
                    except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                        break
                    self._bytes_in += len(chunk)
                    self._last_byte = time.monotonic()
                    pos = 0
                    while pos < len(chunk):
                        nl = chunk.find(b"\n", pos)
                        end = len(chunk) if nl < 0 else nl
                        if not skipping:
                            buf += chunk[pos:end]
                            if not checked:
                                head = bytes(buf[:64]).lstrip()
                                if head:
                                    checked = True
                                    if head[:1] not in (b"{", b"["):
                                        skipping = True
                            if not skipping and len(buf) > self.max_reply:
                                self._too_large = (
                                    f"sent one message longer than the cap of {_size(self.max_reply)} "
                                    f"(--sut-max-reply); it starts {bytes(buf[:200]).decode('utf-8', 'replace')!r}")
                                skipping = True
                                self._set_fault()
                                buf = bytearray()
                            elif skipping:   # not JSON from its first byte: name it now
                                more = "" if nl >= 0 else f" (no newline after {_size(len(buf))} so far)"
                                self._note_garbage(bytes(buf[:_QUOTE]).decode("utf-8", "replace") + more)
                                buf = bytearray()
                            self.peak_line_bytes = max(self.peak_line_bytes, len(buf))
                        if nl < 0:
                            break
                        pos = nl + 1
                        if skipping:
                            skipping = False
                        else:
                            line, buf = bytes(buf), bytearray()
                            if line.strip() and not await self._deliver(line, send):
                                return
                        checked = False
                    self._pending = len(buf)
        finally:
            self._eof = True
            self._set_fault()

    async def _deliver(self, line: bytes, send: Any) -> bool:
        """Parse one line with the SDK's own adapter and pass it on; False once the session is gone."""
        try:
            message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
        except ValueError:
            message = None
            if not _is_utf8(line):   # as lenient as the SDK's errors="replace"
                try:
                    message = types.jsonrpc_message_adapter.validate_json(
                        line.decode("utf-8", "replace"), by_name=False)
                except ValueError:
                    message = None
        if message is None:
            self._note_garbage(line[:_QUOTE].decode("utf-8", "replace")
                               + (f" … ({_size(len(line))})" if len(line) > _QUOTE else ""))
            return True
        try:
            await send.send(SessionMessage(message))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            return False
        return True

    async def _write_stdin(self, proc: Any, recv: Any) -> None:
        try:
            async with recv:
                async for item in recv:
                    data = item.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await proc.stdin.send(data.encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            self._eof = True
            self._set_fault()

    async def _stop_process(self, proc: Any) -> None:
        """The MCP shutdown order: close stdin, wait; SIGTERM the group, wait; SIGKILL. Bounded."""
        with contextlib.suppress(Exception):
            await proc.stdin.aclose()
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)
            with anyio.move_on_after(_EXIT_GRACE):
                while proc.returncode is None:
                    await anyio.sleep(0.02)
            if proc.returncode is not None:
                break
        if proc.returncode is not None and self._stderr_fh is not None and not self._stderr_fh.closed:
            with contextlib.suppress(OSError, ValueError):
                self._stderr_fh.write(f"{_EXIT_MARK}{proc.returncode}\n".encode())
        with contextlib.suppress(Exception):
            await proc.stdout.aclose()
        with contextlib.suppress(Exception):
            await proc.aclose()

    @contextlib.asynccontextmanager
    async def _http_transport(self) -> AsyncIterator[tuple[Any, Any]]:
        """The SDK's Streamable HTTP client; transport errors are noted, not passed on."""
        from mcp.client.streamable_http import streamable_http_client

        assert self.url is not None
        async with streamable_http_client(self.url, max_sse_event_size=self.max_reply) as (read, write):
            send, recv = anyio.create_memory_object_stream[SessionMessage](0)

            async def pump() -> None:
                try:
                    async with send:
                        async for item in read:
                            self._last_byte = time.monotonic()
                            if isinstance(item, Exception):
                                self._note_garbage(f"{type(item).__name__}: {item}")
                                continue
                            await send.send(item)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    pass
                finally:
                    self._eof = True
                    self._set_fault()

            async with anyio.create_task_group() as tg:
                tg.start_soon(pump)
                try:
                    yield recv, write
                finally:
                    tg.cancel_scope.cancel()

    def _note_garbage(self, line: str) -> None:
        self._garbage.append(mask(line)[:_QUOTE + 200])
        self._set_fault()

    async def _guarded(self, make: Callable[[ClientSession], Awaitable[Any]]) -> Any:
        """Run one request; give up at once when the stream is corrupted or closed."""
        if self._garbage or self._too_large:
            raise _Garbage()
        assert self._session is not None and self._fault is not None
        call = asyncio.ensure_future(make(self._session))
        call.add_done_callback(_consume)
        fault = asyncio.ensure_future(self._fault.wait())
        try:
            done, _ = await asyncio.wait({call, fault}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            fault.cancel()
        if self._garbage or self._too_large:   # noted before any later message was delivered
            call.cancel()
            raise _Garbage()
        if call not in done:
            call.cancel()
            raise MCPError(types.CONNECTION_CLOSED,
                           "the server closed its connection" if self.url else "the server closed its stdout")
        return call.result()

    # ---------------------------------------------------------------- internals: requests

    def _request(
        self,
        method: str,
        request: dict[str, Any],
        make: Callable[[ClientSession], Awaitable[Any]],
        *,
        timeout: float | None = None,
        detail: str = "",
    ) -> Any:
        """Send one request and wait (bounded) for its reply.

        The lock is held while the request is checked and submitted to the session's loop and
        while its outcome is recorded, not during the wait: another thread may send a request
        while this one is pending (:attr:`concurrent_calls`, :meth:`pending`). A timeout stops
        the process, so every other pending request of that process fails too, with
        :class:`SutCrashed` naming the timeout."""
        timeout = self.call_timeout if timeout is None else timeout
        what = f"{method} ({detail})" if detail else method
        t0, started = time.monotonic(), time.time()
        reply, error = None, None
        fut: concurrent.futures.Future | None = None
        try:
            with self._lock:
                why = self.alive()
                if why:
                    raise SutCrashed(self._describe(f"cannot send {what}: {why}; restart it first"))
                assert self._loop is not None
                fut = asyncio.run_coroutine_threadsafe(self._guarded(make), self._loop)
                self._in_flight += 1
            try:
                reply = fut.result(timeout)
            except concurrent.futures.TimeoutError:
                with self._lock:
                    fut.cancel()
                    if self._dead is None:
                        self._dead = f"timed out in {what} after {timeout:g}s"
                    message = self._describe(f"no reply to {what} within {timeout:g}s{self._arrival(t0)}")
                    self.close()
                raise SutTimeout(
                    message + "\nThe SUT process was stopped; the next user of this session restarts it."
                ) from None
            except concurrent.futures.CancelledError:
                # the loop was ended under this request (another request timed out, or close())
                with self._lock:
                    raise self._abandoned(what) from None
            except _Garbage:
                with self._lock:
                    raise self._stream_error(what) from None
            except MCPError as exc:
                if exc.code == types.CONNECTION_CLOSED:
                    with self._lock:
                        if self._thread is None:   # closed under it: say why, not "broke the connection"
                            raise self._abandoned(what) from None
                        raise self._crash_error(what, exc) from None
                raise SutProtocolError(f"SUT {self.name} answered {what} with an error: {exc.message}",
                                       exc.code) from None
            except ValidationError as exc:
                raise SutProtocolError(f"SUT {self.name} sent a reply to {what} that is not valid MCP: "
                                       f"{_short(str(exc))}") from None
            except RuntimeError as exc:
                if self._loop is None or self._loop.is_closed():
                    with self._lock:
                        if self._thread is None:
                            raise self._abandoned(what) from None
                        raise self._crash_error(what, exc) from None
                raise
            return reply
        except BaseException as exc:
            error = str(exc)
            if isinstance(exc, SutError) and not isinstance(exc, SutProtocolError):
                self.reported = True
            raise
        finally:
            with self._lock:
                if fut is not None:
                    self._in_flight -= 1
                self._last_exchange = time.monotonic()
                self._recent.append((self._last_exchange, what, self.user))
                if self._tracker is not None:
                    self._tracker.sample()   # a helper the request started is known from now on
                self._record(method, request, reply, error, time.monotonic() - t0)
            # every request, whoever sends it (a step's sut.call, a sweep, discovery's timed
            # calls): the SUT's time for bench/overhead.py, timeouts included
            timings.note("sut", start=started, end=time.time(), what=what, sut=self.name)

    def _abandoned(self, what: str) -> SutCrashed:
        """For a request pending when the session was closed under it (another request timed
        out, or close()): a SutCrashed naming why the session ended."""
        return SutCrashed(self._describe(
            f"{what} was abandoned: the session ended while it was pending ({self._dead or 'closed'})"))

    def pending(self) -> int:
        """How many requests were sent and await their reply now (0 when none)."""
        return self._in_flight

    def _arrival(self, since: float) -> str:
        """For a missed deadline: were bytes still arriving? (stdio: counts; HTTP: last message)."""
        if self._last_byte <= since:
            return "; nothing arrived from the server since the request was sent"
        ago = time.monotonic() - self._last_byte
        if self.url:
            return f"; the last message arrived {ago:.1f}s before the deadline"
        pending = f", {_size(self._pending)} of an unfinished line pending" if self._pending else ""
        return (f"; bytes were still arriving: {_size(self._bytes_in)} received in all, the last "
                f"{ago:.1f}s before the deadline{pending}")

    def _stream_error(self, what: str, note: str = "") -> SutStreamError:
        if self._too_large:
            self._dead = self._too_large
            return SutReplyTooLarge(self._describe(f"{what}: the server {self._too_large}", note=note))
        self._dead = "wrote non-protocol output on stdout" if not self.url else "broke the HTTP transport"
        where = "the server wrote non-protocol output" if not self.url else "the HTTP transport failed"
        return SutStreamError(self._describe(
            f"{what}: {where}: {self._garbage[0][:_QUOTE]!r}"
            + (f" (+{len(self._garbage) - 1} more lines)" if len(self._garbage) > 1 else ""), note=note))

    def _crash_error(self, what: str, exc: BaseException) -> SutCrashed:
        """Wait (bounded) for the exit code, then describe the crash, keeping any known cause."""
        if self.url:
            self._dead = f"lost its connection ({exc})"
            return SutCrashed(self._describe(f"the HTTP connection broke during {what}: {exc}"))
        if self._proc is None and isinstance(exc, OSError):
            self._dead = f"could not be started: {exc}"
            return SutCrashed(self._describe(f"could not be started: {exc}"))
        code = self._await_exit(3.0)
        if code is not None:
            how = f"exited with code {code}" + (f" (128 + signal {code - 128})" if code > 128 else "")
        else:
            how = f"broke the connection ({type(exc).__name__}: {exc})"
        self._dead = how
        return SutCrashed(self._describe(f"the server {how} during {what}"))

    def _describe(self, what: str, note: str = "") -> str:
        """``SUT <name>: <what><note>`` and, for a stdio SUT, the last lines of its stderr."""
        if self.url:
            return f"SUT {self.name} ({self.url}): {what}{note}"
        tail = self.stderr_tail()
        return (f"SUT {self.name}: {what}{note}\n--- last lines of its stderr ({self.stderr_path}) ---\n"
                f"{tail or '(empty)'}")

    def _record(self, method: str, request: Any, reply: Any, error: str | None, seconds: float) -> None:
        self.transcript.append(mask_obj({
            "method": method,
            "request": request,
            "reply": reply,
            "error": error,
            "seconds": round(seconds, 3),
        }))

    def _await_exit(self, timeout: float) -> int | None:
        """The exit code, waiting up to ``timeout`` seconds for it (None: still running, or HTTP)."""
        if self._proc is None:
            return None
        try:
            return wait_for(lambda: (self._exit_code() is not None, self._exit_code()),
                            f"SUT {self.name} to exit", timeout=timeout, interval=0.02)
        except WaitTimeout:
            return None

    def _exit_code(self) -> int | None:
        """The SUT's exit code as its supervisor reports it (128+N: killed by signal N)."""
        proc = self._proc
        if proc is None:
            return None
        code = proc.returncode
        if code is None:
            return None
        return code if code >= 0 else 128 - code


def _unwrap(exc: BaseException) -> BaseException:
    """The meaningful exception inside the task groups' ExceptionGroups."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)] or list(exc.exceptions)
        exc = inner[0]
    return exc


@atexit.register
def _close_all() -> None:
    """Last line of defence: no SUT process outlives the interpreter."""
    for session in list(_LIVE):
        try:
            session.close()
        except Exception:  # noqa: BLE001
            pass


def _consume(task: asyncio.Future) -> None:
    """Retrieve an abandoned request's outcome so asyncio does not log it as lost."""
    if not task.cancelled():
        task.exception()


def _content_text(content: Any) -> str:
    text = getattr(content, "text", None)
    if isinstance(text, str):
        return text
    if hasattr(content, "model_dump_json"):
        return content.model_dump_json(by_alias=True, exclude_none=True)
    return str(content)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _short(text: str, limit: int = 800) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"
