"""Whether the process that wrote a run folder still runs: a killed run is "aborted", not "running".

The manifest's ``process`` entry names the writer: its pid, the host, and (on Linux) the process's
start time in clock ticks since boot, from ``/proc/<pid>/stat``, so a pid reused by another
process after the kill is not taken for the run. A run on another host cannot be checked from
here and keeps the status it wrote.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

RUNNING = "running"
ABORTED = "aborted"


def this_process() -> dict[str, Any]:
    """The manifest's ``process`` entry for the current process."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "start_ticks": _start_ticks(os.getpid())}


def shown_status(manifest: dict[str, Any]) -> str:
    """The manifest's status, but ``aborted`` for a run still "running" whose writer is gone."""
    status = str(manifest.get("status", "?"))
    process = manifest.get("process")
    if status == RUNNING and isinstance(process, dict) and _gone(process):
        return ABORTED
    return status


def _gone(process: dict[str, Any]) -> bool:
    pid = process.get("pid")
    if not isinstance(pid, int) or process.get("host") != socket.gethostname():
        return False  # another machine's run (or a manifest without a pid): not ours to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    state, now = _stat(pid)
    if state == "Z":
        return True  # killed, not yet reaped by its parent
    started = process.get("start_ticks")
    return started is not None and now is not None and now != started  # the pid was given to a new process


def _start_ticks(pid: int) -> int | None:
    return _stat(pid)[1]


def _stat(pid: int) -> tuple[str | None, int | None]:
    """State (field 3) and start time (field 22) from ``/proc/<pid>/stat``; (None, None) off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        fields = stat[stat.rindex(")") + 2 :].split()  # the name before may hold spaces and parentheses
        return fields[0], int(fields[19])
    except (OSError, ValueError, IndexError):
        return None, None
