"""A synchronous MCP session with one server under test (SUT), over stdio.

:class:`SutSession` wraps the official MCP SDK client (``mcp.client.stdio.stdio_client`` for
the process and pipes, ``mcp.client.session.ClientSession`` for the protocol). The SDK is
asynchronous; steps are not. So each session runs its own asyncio loop in a daemon thread,
every request is submitted with ``run_coroutine_threadsafe`` and every wait is bounded.

What it guarantees (the traps listed in ../shared/notes/mcp-servers.md):

- **stderr never blocks the SUT**: it goes to ``<workdir>/stderr.log``, never to a pipe;
  failures quote its tail (masked).
- **a deadline on every request**: a request that gets no reply in time raises
  :class:`SutTimeout` (SUT, method, seconds, stderr tail); the process is stopped and the
  session is dead, so the next user restarts it.
- **a crash is named**: :class:`SutCrashed` with the exit code and the stderr tail.
- **stdout is the protocol**: a line that is not JSON-RPC fails the pending request (and
  every later one until a restart) with :class:`SutStreamError` "the server wrote
  non-protocol output: …" instead of leaving it to hang.
- **a sandbox**: the SUT runs in a new process group with a private HOME and working
  directory under ``workdir`` and an environment holding only PATH, HOME, LANG and what its
  profile gives. :meth:`SutSession.close` is idempotent and leaves no process of the group.
- **a transcript**: each request and its reply or error, masked by
  :func:`support.secrets.mask_obj`, for the report (:meth:`SutSession.take_transcript`).

How the process is launched: ``stdio_client`` adds the caller's HOME, LOGNAME, PATH, SHELL,
TERM and USER to the child's environment and does not expose the child's pid or exit code.
So what it starts is ``sh -c <wrapper> env -i <the SUT's environment> <argv>``: the tiny
shell wrapper writes its pid before and the server's exit code after, as marked lines in
the stderr file, and ``env -i`` hands the server exactly the environment we chose. The
shell is the process group leader (``stdio_client`` uses ``start_new_session``), so killing
the group reaches the server and anything it spawned.
"""
from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import shutil
import signal
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Awaitable, Callable

import anyio
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from support.secrets import mask, mask_obj
from support.waits import WaitTimeout, wait_for

_PID_MARK = "[raptorspec] server process group "
_EXIT_MARK = "[raptorspec] server exited with code "
# $$ is the shell (the group leader); "$@" is the server's argv, passed as arguments so no
# quoting is involved. The exit line is how we learn the code: stdio_client keeps the
# process object to itself.
_WRAPPER = (
    f'echo "{_PID_MARK}$$" >&2; "$@"; rc=$?; '
    f'echo "{_EXIT_MARK}$rc" >&2; exit $rc'
)
_CLIENT_INFO = types.Implementation(name="raptorspec", version="0.1")
_CLOSE_TIMEOUT = 15.0   # the SDK's own shutdown is bounded at about 6.5 s
_TAIL_BYTES = 256 * 1024
_LIVE: "weakref.WeakSet[SutSession]" = weakref.WeakSet()

# The SDK logs every non-protocol stdout line with a traceback; the session reports it itself.
logging.getLogger("mcp.client.stdio").addFilter(
    lambda record: "Failed to parse JSONRPC message" not in record.getMessage()
)


from support.errors import (  # noqa: E402,F401 (re-exported)
    SutCrashed, SutError, SutProtocolError, SutStreamError, SutTimeout,
)


class _Garbage(Exception):
    """Raised inside the loop when a non-protocol line was seen (mapped to SutStreamError)."""


class SutSession:
    """One MCP client session with one SUT process. Thread-safe for one caller at a time.

    ``argv`` is the server's command line, ``env`` what its profile adds to PATH/HOME/LANG,
    ``workdir`` a directory of its own (created): ``home/`` and ``cwd/`` for the SUT, and
    ``stderr.log``. ``start_timeout`` bounds the spawn and the initialize handshake,
    ``call_timeout`` every later request unless a call passes its own ``timeout``.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        workdir: Path,
        *,
        start_timeout: float = 60.0,
        call_timeout: float = 60.0,
    ):
        if not argv:
            raise ValueError(f"SUT {name}: empty command line")
        self.name = name
        self.argv = [str(a) for a in argv]
        self.env = dict(env)
        self.workdir = Path(workdir)
        self.start_timeout = start_timeout
        self.call_timeout = call_timeout
        self.home = self.workdir / "home"
        self.cwd = self.workdir / "cwd"
        self.stderr_path = self.workdir / "stderr.log"
        self.transcript: list[dict[str, Any]] = []
        self.server_info: dict[str, Any] | None = None
        self.starts = 0
        self._lock = threading.RLock()
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
        self._garbage: list[str] = []
        self._eof = False
        self._dead: str | None = None
        self._pgid: int | None = None
        self._stderr_fh = None

    def child_environment(self) -> dict[str, str]:
        """The complete environment the SUT process gets."""
        base = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
        }
        return base | self.env

    def start(self) -> "SutSession":
        """Spawn the SUT and complete the MCP initialize handshake (bounded by start_timeout).

        On any failure the process is stopped before the error propagates.
        """
        with self._lock:
            if self._thread is not None and self._dead is None:
                return self
            if self._thread is not None:
                self.close()
            self._dead = None
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
                    raise SutTimeout(self._describe(f"no reply to initialize within {self.start_timeout:g}s")) from None
                except SutError:
                    raise
                except MCPError as exc:
                    if exc.code == types.CONNECTION_CLOSED:
                        raise self._crash_error("initialize", exc) from None
                    self._dead = f"refused initialize: {exc.message}"
                    raise SutProtocolError(self._describe(f"initialize was answered with an error: {exc.message}"),
                                           exc.code) from None
                except Exception as exc:  # noqa: BLE001 - spawn failures, broken streams
                    raise self._crash_error("initialize", exc) from None
                self.server_info = mask_obj(
                    init.server_info.model_dump(mode="json", by_alias=True, exclude_none=True)
                    if getattr(init, "server_info", None) else {}
                )
                self._record("initialize", {"argv": self.argv}, self.server_info, None, time.monotonic() - t0)
                return self
            except BaseException as exc:
                if not isinstance(exc, SutError):
                    self._dead = f"failed to start: {type(exc).__name__}: {exc}"
                self._record("initialize", {"argv": self.argv}, None, str(exc), time.monotonic() - t0)
                self.close()
                raise

    def restart(self) -> "SutSession":
        """Close whatever is left of the SUT and start a fresh process."""
        with self._lock:
            self.close()
            return self.start()

    def close(self) -> None:
        """Stop the SUT and its loop thread. Idempotent; afterwards no process of its group is left."""
        with self._lock:
            thread, loop, task, pgid = self._thread, self._loop, self._main_task, self._pgid
            if thread is None:
                return
            if pgid is None:
                pgid = self._read_pgid()
            if loop is not None and not loop.is_closed():
                try:
                    if task is not None:
                        loop.call_soon_threadsafe(task.cancel)
                    else:
                        loop.call_soon_threadsafe(loop.stop)
                except RuntimeError:
                    pass  # the loop closed in between
            thread.join(_CLOSE_TIMEOUT)
            if pgid is not None:
                _kill_group(pgid)
            if self._stderr_fh is not None:
                self._stderr_fh.close()
            dead = self._dead
            self._reset_state()
            self._dead = dead or "closed"

    def alive(self) -> str | None:
        """None while the SUT can answer; otherwise a sentence saying why it cannot."""
        if self._thread is None:
            return f"SUT {self.name} is not running ({self._dead or 'never started'})"
        if self._dead:
            return f"SUT {self.name} {self._dead}"
        code = self._exit_code()
        if code is not None:
            return f"SUT {self.name} exited with code {code}"
        if self._eof:
            return f"SUT {self.name} closed its stdout"
        if self._garbage:
            return f"SUT {self.name} wrote non-protocol output on stdout: {self._garbage[0][:200]!r}"
        if not self._thread.is_alive():
            return f"SUT {self.name}: its session thread ended"
        return None

    @property
    def pgid(self) -> int | None:
        """The SUT's process group id (the id of its leader), once started."""
        return self._pgid or self._read_pgid()

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

    # ---------------------------------------------------------------- internals

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

    async def _main(self, ready: concurrent.futures.Future) -> None:
        self._loop = asyncio.get_running_loop()
        self._main_task = asyncio.current_task()
        self._fault = asyncio.Event()
        env_bin = shutil.which("env") or "/usr/bin/env"
        sh_bin = shutil.which("sh") or "/bin/sh"
        env_args = [f"{k}={v}" for k, v in self.child_environment().items()]
        params = StdioServerParameters(
            command=sh_bin,
            args=["-c", _WRAPPER, "raptorspec-sut", env_bin, "-i", *env_args, *self.argv],
            cwd=str(self.cwd),
            encoding_error_handler="replace",
        )
        async with stdio_client(params, errlog=self._stderr_fh) as (read, write):
            # A pump between the transport and the session: a non-protocol line is noted
            # *before* any later message is delivered, so a reply that follows garbage can
            # never be taken as a clean answer.
            inbox_send, inbox_recv = anyio.create_memory_object_stream(0)

            async def pump() -> None:
                async with inbox_send:
                    async for item in read:
                        if isinstance(item, Exception):
                            self._note_garbage(item)
                            continue
                        await inbox_send.send(item)
                self._eof = True
                self._fault.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(pump)
                async with ClientSession(inbox_recv, write, client_info=_CLIENT_INFO) as session:
                    self._session = session
                    init = await session.initialize()
                    self._pgid = self._read_pgid()
                    ready.set_result(init)
                    await anyio.sleep_forever()

    def _note_garbage(self, exc: Exception) -> None:
        line = None
        if isinstance(exc, ValidationError):
            try:
                line = exc.errors()[0].get("input")
            except Exception:  # noqa: BLE001
                line = None
        if not isinstance(line, str):
            line = str(exc)
        self._garbage.append(mask(line)[:2000])
        if self._fault is not None:
            self._fault.set()

    async def _guarded(self, make: Callable[[ClientSession], Awaitable[Any]]) -> Any:
        """Run one request; give up at once when the stream is corrupted or closed."""
        if self._garbage:
            raise _Garbage()
        assert self._session is not None and self._fault is not None
        call = asyncio.ensure_future(make(self._session))
        call.add_done_callback(_consume)
        fault = asyncio.ensure_future(self._fault.wait())
        try:
            done, _ = await asyncio.wait({call, fault}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            fault.cancel()
        if self._garbage:
            call.cancel()
            raise _Garbage()
        if call not in done:
            call.cancel()
            raise MCPError(types.CONNECTION_CLOSED, "the server closed its stdout")
        return call.result()

    def _request(
        self,
        method: str,
        request: dict[str, Any],
        make: Callable[[ClientSession], Awaitable[Any]],
        *,
        timeout: float | None = None,
        detail: str = "",
    ) -> Any:
        with self._lock:
            timeout = self.call_timeout if timeout is None else timeout
            what = f"{method} ({detail})" if detail else method
            t0 = time.monotonic()
            reply, error = None, None
            try:
                why = self.alive()
                if why:
                    raise SutCrashed(self._describe(f"cannot send {what}: {why}; restart it first"))
                assert self._loop is not None
                fut = asyncio.run_coroutine_threadsafe(self._guarded(make), self._loop)
                try:
                    reply = fut.result(timeout)
                except concurrent.futures.TimeoutError:
                    fut.cancel()
                    self._dead = f"timed out in {what} after {timeout:g}s"
                    message = self._describe(f"no reply to {what} within {timeout:g}s")
                    self.close()
                    raise SutTimeout(
                        message + "\nThe SUT process was stopped; the next user of this session restarts it."
                    ) from None
                except _Garbage:
                    self._dead = "wrote non-protocol output on stdout"
                    raise SutStreamError(self._describe(
                        f"{what}: the server wrote non-protocol output: {self._garbage[0][:500]!r}"
                        + (f" (+{len(self._garbage) - 1} more lines)" if len(self._garbage) > 1 else "")
                    )) from None
                except MCPError as exc:
                    if exc.code == types.CONNECTION_CLOSED:
                        raise self._crash_error(what, exc) from None
                    raise SutProtocolError(f"SUT {self.name} answered {what} with an error: {exc.message}",
                                           exc.code) from None
                except ValidationError as exc:
                    raise SutProtocolError(f"SUT {self.name} sent a reply to {what} that is not valid MCP: "
                                           f"{_short(str(exc))}") from None
                except RuntimeError as exc:
                    if self._loop is None or self._loop.is_closed():
                        raise self._crash_error(what, exc) from None
                    raise
                return reply
            except BaseException as exc:
                error = str(exc)
                raise
            finally:
                self._record(method, request, reply, error, time.monotonic() - t0)

    def _crash_error(self, what: str, exc: BaseException) -> SutCrashed:
        """Wait (bounded) for the exit code, then describe the crash."""
        try:
            code = wait_for(lambda: (self._exit_code() is not None, self._exit_code()),
                            f"SUT {self.name} to exit", timeout=3.0, interval=0.05)
            how = f"exited with code {code}" if code >= 0 else "was killed"
        except WaitTimeout:
            how = f"broke the connection ({type(exc).__name__}: {exc})"
        self._dead = how
        return SutCrashed(self._describe(f"the server {how} during {what}"))

    def _describe(self, what: str) -> str:
        tail = self.stderr_tail()
        return f"SUT {self.name}: {what}\n--- last lines of its stderr ({self.stderr_path}) ---\n{tail or '(empty)'}"

    def _record(self, method: str, request: Any, reply: Any, error: str | None, seconds: float) -> None:
        self.transcript.append(mask_obj({
            "method": method,
            "request": request,
            "reply": reply,
            "error": error,
            "seconds": round(seconds, 3),
        }))

    def _marks(self) -> list[str]:
        try:
            with open(self.stderr_path, "rb") as fh:
                fh.seek(self._stderr_offset)
                data = fh.read()
        except (OSError, ValueError):
            return []
        return [l for l in data.decode("utf-8", "replace").splitlines() if l.startswith("[raptorspec] ")]

    def _read_pgid(self) -> int | None:
        for line in self._marks():
            if line.startswith(_PID_MARK):
                try:
                    return int(line[len(_PID_MARK):])
                except ValueError:
                    return None
        return None

    def _exit_code(self) -> int | None:
        for line in reversed(self._marks()):
            if line.startswith(_EXIT_MARK):
                try:
                    return int(line[len(_EXIT_MARK):])
                except ValueError:
                    return None
        pgid = self._pgid or self._read_pgid()
        if pgid is not None and not _group_alive(pgid):
            return -1  # gone without a word (killed with its wrapper)
        return None


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


def _short(text: str, limit: int = 800) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _group_alive(pgid: int) -> bool:
    """True while any process of the group exists (a zombie leader counts until reaped)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_group(pgid: int) -> None:
    """Make sure nothing of the group is left: SIGKILL survivors, reap a zombie leader, wait (bounded)."""
    if not _group_alive(pgid):
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

    def gone() -> tuple[bool, str]:
        try:
            os.waitpid(pgid, os.WNOHANG)   # our child: reap it if the loop's watcher did not
        except ChildProcessError:
            pass
        return (not _group_alive(pgid), f"process group {pgid} still has members")

    try:
        wait_for(gone, f"process group {pgid} to disappear", timeout=5.0, interval=0.05)
    except WaitTimeout:
        pass  # reported by the caller's own check (tests look at /proc)
