"""Pieces of the compute in forked processes: the runner `core.planner.Runner` asks for.

The engine's compute runs on one core (pandas holds the GIL; threads gained nothing,
measured), and a refresh or a weekly run spends ~7 s in it on 100,000 clients. The
checks and the analysis (or the week's plan), two groups of task families and the
planner's two groups of agents are independent pieces of work: a forked process
computes one of each pair on the same memory (copy-on-write, nothing sent over), and
sends back only its result, pickled. Measured on 100,000 clients, 2 cores:
see README's speed section.

Only on Linux: fork has no equivalent on Windows (the ribbon's home; spawning a process
that needs the office's frames costs what it saves), and on macOS a forked process may
not use system frameworks the parent loaded. Elsewhere, and with one core, the pieces
run one after the other in this process. A piece whose process fails (killed, out of
memory, an error) is computed again here, so it raises here as it would have anyway.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.planner import Runner


def available() -> bool:
    """Forking helps here: Linux, more than one core."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and (os.cpu_count() or 1) > 1


PARALLEL_CLIENTS = 10_000  # smaller offices compute in one process (a fork costs more)


def runner_for(clients: int) -> Runner:
    """The runner for an office of `clients` clients: forked pieces for a big one."""
    return in_parallel if clients >= PARALLEL_CLIENTS else in_turn


@dataclass
class Outcome:
    """A piece's result, or the error it raised, kept to be raised later (`get`)."""

    value: Any = None
    error: Exception | None = None

    def get(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def kept(work: Callable[[], Any]) -> Callable[[], Outcome]:
    """`work` as a piece whose error waits: work on a book with a fatal problem may fail,
    and the problem (found by the piece beside it) is to be said first."""
    def piece() -> Outcome:
        try:
            return Outcome(work())
        except Exception as exc:  # noqa: BLE001 - raised by Outcome.get, after the findings
            return Outcome(error=exc)
    return piece


def in_turn(pieces: list[Callable[[], Any]]) -> list[Any]:
    """Each piece in this process, in order."""
    return [piece() for piece in pieces]


def _read_all(fd: int, into: list[bytes]) -> None:
    with os.fdopen(fd, "rb") as pipe:
        into.append(pipe.read())


def in_parallel(pieces: list[Callable[[], Any]]) -> list[Any]:
    """The first piece in this process, each other one in a forked process meanwhile;
    the results in order."""
    if len(pieces) < 2 or not available():
        return in_turn(pieces)
    children = []
    try:
        for piece in pieces[1:]:
            children.append(_fork(piece))
        first = pieces[0]()
    finally:
        got = []
        for pid, reader, box in children:
            reader.join()
            os.waitpid(pid, 0)
            got.append(box[0] if box else b"")
    results = [first]
    for piece, data in zip(pieces[1:], got, strict=True):
        result = _loads(data)
        results.append(piece() if result is _FAILED else result)
    return results


_FAILED = object()


def _loads(data: bytes) -> Any:
    if not data:
        return _FAILED
    try:
        ok, value = pickle.loads(data)
    except Exception:  # noqa: BLE001 - a damaged message: the piece is computed again here
        return _FAILED
    return value if ok else _FAILED


def _fork(piece: Callable[[], Any]) -> tuple[int, threading.Thread, list[bytes]]:
    """A process computing `piece`, and a thread here reading what it sends."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, leave without running the parent's cleanup
        code = 0
        try:
            os.close(read_fd)
            try:
                data = pickle.dumps((True, piece()), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # noqa: BLE001 - the parent computes it again and reports
                data = pickle.dumps((False, None))
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
        except BaseException:  # noqa: BLE001 - e.g. the parent gone
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    box: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(read_fd, box), daemon=True)
    reader.start()
    return pid, reader, box
