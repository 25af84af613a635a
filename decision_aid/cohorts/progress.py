"""Progress of a run on standard error (batch and cohort runs alike).

On a terminal: one line, redrawn at most ten times a second. Otherwise (a log file, a pipe)
whole lines only: one at each tenth of the way (when the total is known) and at least every
5 seconds. `close` always ends the line, so no message is ever glued to the bar. With no
known total, the line shows the count and the rate without a bar.
"""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    def __init__(self, total: int | None, stream: TextIO):
        self.total, self.stream, self.count = total, stream, 0
        self.start = self.last = time.monotonic()
        self.tty = _is_terminal(stream)
        self.drawn = -1  # the count last shown
        self.tenth = 0  # tenths of the way shown so far (not on a terminal)

    def step(self, count: int = 1) -> None:
        self.update(self.count + count)

    def update(self, done: int, total: int | None = None) -> None:
        """`done` rows so far (of `total`, when it becomes known): the runner's progress callback."""
        self.count = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if self.tty:
            if now - self.last >= 0.1:
                self.last = now
                self._show(now)
        elif self._next_tenth() or now - self.last >= 5:
            self.tenth = self.count * 10 // self.total if self.total else 0
            self.last = now
            self._show(now)

    def _next_tenth(self) -> bool:
        return bool(self.total) and self.count * 10 >= (self.tenth + 1) * self.total

    def close(self) -> None:
        """Show where the run ended, and end the line."""
        if self.tty or self.drawn != self.count:
            self._show(time.monotonic())
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def _show(self, now: float) -> None:
        rate = self.count / max(now - self.start, 1e-9)
        if self.total is None:
            line = f"{self.count} done ({rate:.0f}/s)"
        else:
            share = self.count / self.total if self.total else 1.0
            filled = int(share * 30)
            line = f"[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{self.total} ({share:.0%}, {rate:.0f}/s)"
        self.stream.write(f"\r{line}" if self.tty else f"{line}\n")
        self.stream.flush()
        self.drawn = self.count


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
