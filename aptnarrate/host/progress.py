"""A progress bar on stderr for batch runs (rich), drawn only when stderr is a terminal.

The bar shows inputs done of total, failures, and how many model requests are in flight,
so a user waiting on a slow endpoint sees that it is waiting. Not a terminal (a pipe, a
file, CI): nothing is drawn at all.

The bar starts no thread of its own (rich's auto-refresh would): the batch forks worker
processes only while its process has no other thread, so the parent redraws the bar from
the workers' results and from the "tick" events its waiting loops send a few times a second.
"""

from __future__ import annotations

import sys
import threading


class BatchProgress:
    def __init__(self, total: int, *, stream=None, enabled: bool | None = None, in_flight=None) -> None:
        self.in_flight = in_flight or (lambda: 0)  # polled at each refresh, not only at events
        self.stream = stream or sys.stderr
        self.enabled = (self.stream.isatty() if hasattr(self.stream, "isatty") else False) if enabled is None else enabled
        self.total = total
        self.done = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._progress = None
        self._task = None

    def __enter__(self) -> BatchProgress:
        if self.enabled and self.total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
            from rich.text import Text

            owner = self

            class Waiting(ProgressColumn):
                def render(self, task) -> Text:
                    parts = []
                    waiting = owner.in_flight()
                    if waiting:
                        parts.append(f"waiting on the model: {waiting} request(s) in flight")
                    if owner.failed:
                        parts.append(f"{owner.failed} failed")
                    return Text("; ".join(parts))

            self._progress = Progress(
                TextColumn("[bold]aptnarrate batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                Waiting(),
                console=Console(file=self.stream),
                transient=False,
                auto_refresh=False,  # no refresh thread: redrawn at every event (see above)
            )
            self._progress.start()
            self._task = self._progress.add_task("batch", total=self.total)
            self._progress.refresh()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, event: str, outcome, in_flight: int) -> None:
        """``Batch``'s progress callback (called from worker threads): "start", "done" (one
        input finished) or "tick" (nothing finished; redraw the elapsed time and the requests
        in flight)."""
        with self._lock:
            if event == "done":
                self.done += 1
                if outcome is not None and outcome.status == "failed":
                    self.failed += 1
            if self._progress is not None:
                self._progress.update(self._task, completed=self.done, refresh=True)
