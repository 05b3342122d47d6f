"""Child processes started together and stopped together (the API and the worker of `up`)."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from dataclasses import dataclass
from types import TracebackType

__all__ = ["Child", "Children", "describe_exit"]

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Child:
    """One running child process."""

    name: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid


def describe_exit(returncode: int) -> str:
    """'exited with code 1' or 'was killed by SIGKILL'."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


class Children:
    """Starts child processes; on exit (or `stop()`) terminates them, then kills stragglers."""

    def __init__(self, stop_timeout_s: float = STOP_TIMEOUT_S) -> None:
        self.stop_timeout_s = stop_timeout_s
        self.running: list[Child] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        """Start `argv` with `env`; its output goes to our stdout/stderr."""
        child = Child(name, subprocess.Popen(argv, env=env))
        self.running.append(child)
        logger.info("started the %s (pid %d)", name, child.pid)
        return child

    def exited(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((c for c in self.running if c.process.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM every live child, wait up to `stop_timeout_s` in all, then SIGKILL."""
        alive = [c for c in self.running if c.process.poll() is None]
        for child in alive:
            logger.info("stopping the %s (pid %d)", child.name, child.pid)
            child.process.terminate()
        deadline = time.monotonic() + self.stop_timeout_s
        for child in alive:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning(
                    "the %s did not stop within %.0f s: killing it", child.name, self.stop_timeout_s
                )
                child.process.kill()
                child.process.wait()
        self.running.clear()

    def __enter__(self) -> Children:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
