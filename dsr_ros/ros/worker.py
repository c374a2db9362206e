"""Newest-frame-wins worker thread: latency stays bounded when processing is slower than the camera."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class LatestWorker:
    """Runs `handler` on a thread for the most recent submitted item; items replaced before they ran are dropped.

    An exception from `handler` goes to `on_error` and the worker carries on (without `on_error` it ends the thread).
    """

    def __init__(self, handler: Callable[[Any], None], on_error: Callable[[BaseException], None] | None = None,
                 name: str = "dsr-worker") -> None:
        self._handler = handler
        self._on_error = on_error
        self._cond = threading.Condition()
        self._pending: Any = None
        self._has_pending = False
        self._stopping = False
        self.dropped = 0
        self.handled = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, item: Any) -> bool:
        """Queue `item`, replacing (and counting as dropped) any item not yet started; False if one was dropped."""
        with self._cond:
            replaced = self._has_pending
            if replaced:
                self.dropped += 1
            self._pending, self._has_pending = item, True
            self._cond.notify()
        return not replaced

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Finish the item in progress, discard the pending one and join the thread.

        Returns False when the item in progress outlived `timeout` (the thread still runs).
        """
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._has_pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                item, self._pending, self._has_pending = self._pending, None, False
            try:
                self._handler(item)
            except Exception as err:  # one failing frame must not stop the worker for good
                if self._on_error is None:
                    raise
                self._on_error(err)
            with self._cond:
                self.handled += 1
