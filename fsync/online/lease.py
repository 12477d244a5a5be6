"""Leases: pushes of one view into one store are mutually exclusive.

A push takes the view's lease in the store (an owner token, who holds it, an expiry) before it reads anything,
renews it from a heartbeat thread while it runs, and releases it at the end. The store fences every write of
the view by the lease (fsync/online/stores/base.py), so a push that lost its lease changes nothing more. A
lease whose holder crashed expires; one whose holder is a dead process on this host is taken over at once.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError, InfraUnavailable
from fsync.manifest import FeatureViewSpec
from fsync.online.stores.base import Lease, OnlineStore


class LeaseBusy(InfraUnavailable):
    """Another push holds the view's lease."""


def _process_start(pid: int) -> str | None:
    """The start time of a process (Linux /proc, clock ticks since boot): tells a reused pid apart."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def this_holder() -> dict[str, Any]:
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "process_start": _process_start(pid),
        "since": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def holder_is_dead(holder: dict[str, Any]) -> bool:
    """A holder on this host whose process is gone (or whose pid now belongs to another process)."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    pid = holder["pid"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    started = holder.get("process_start")
    return started is not None and _process_start(pid) not in (None, started)


def _describe_holder(lease: Lease) -> str:
    h = lease.holder
    remaining = max(0.0, lease.expires_at - time.time())
    return (
        f"pid {h.get('pid', '?')} on {h.get('host', '?')} (since {h.get('since', '?')}; its lease expires in"
        f" {remaining:.0f}s unless renewed)"
    )


class Heartbeat(threading.Thread):
    """Renews a lease every third of its ttl while the push runs; `lost` once a renewal is refused."""

    def __init__(self, store: OnlineStore, view: str, token: str, ttl_s: float) -> None:
        super().__init__(name=f"fsync-lease-{view}", daemon=True)
        self.store, self.view, self.token, self.ttl_s = store, view, token, ttl_s
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.stopped.wait(self.ttl_s / 3):
            try:
                if not self.store.renew_lease(self.view, self.token, self.ttl_s):
                    self.lost = True
                    return
            except FsyncError:
                continue  # the store is unreachable: the fence refuses our writes if the lease lapses

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(timeout=5)


def acquire(store: OnlineStore, view: FeatureViewSpec, ttl_s: float, wait_s: float) -> str:
    """Take the view's lease (waiting up to `wait_s`); LeaseBusy when another live push holds it."""
    token, holder = uuid.uuid4().hex, this_holder()
    deadline = time.monotonic() + wait_s
    while True:
        current = store.acquire_lease(view.store_id, token, holder, ttl_s)
        if current is None:
            return token
        if holder_is_dead(current.holder) and store.take_over_lease(
            view.store_id, current, token, holder, ttl_s
        ):
            return token
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait_s:g}s" if wait_s else ""
            raise LeaseBusy(
                f"{view.label} is being pushed into {store.describe()} by {_describe_holder(current)}"
                f"{waited};"
                " nothing of it was written: push again when that push ends (or pass --wait SECONDS)."
            )
        time.sleep(min(0.2, max(0.01, deadline - time.monotonic())))
