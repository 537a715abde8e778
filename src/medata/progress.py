"""The progress hook every long stage reports to: the library calls it, the CLI renders it."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def stage(self, name: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class NullProgress:
    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


class Cancelled(Exception):
    """Raised inside background work whose result is no longer wanted."""


class Held:
    """The progress of work running in the background while the foreground reports its own:
    held (and counted) until ``release``, then passed on. ``cancel`` makes the background work
    stop at its next report. Thread-safe."""

    def __init__(self, target: Progress) -> None:
        import threading

        self._target = target
        self._lock = threading.Lock()
        self._live = False
        self._cancelled = False
        self._stage: tuple[str, int] | None = None
        self._done = 0

    def stage(self, name: str, total: int) -> None:
        with self._lock:
            self._check()
            self._stage, self._done = (name, total), 0
            if self._live:
                self._target.stage(name, total)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._check()
            self._done += n
            if self._live:
                self._target.advance(n)

    def release(self) -> None:
        with self._lock:
            self._live = True
            if self._stage is not None:
                self._target.stage(*self._stage)
                self._target.advance(self._done)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True

    def _check(self) -> None:
        if self._cancelled:
            raise Cancelled
