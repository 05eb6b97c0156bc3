"""Runs on the Dagster instance: freeing the warehouse pool of runs whose process died.

A run killed outright (``kill -9``, the OOM killer) never ends in Dagster's
records: it stays STARTED and keeps its slot in the "warehouse" pool, so every
later warehouse step waits for it. Dagster's run monitoring frees such slots,
but only in a running daemon (``dagster dev``). The warehouse resource calls
``release_dead_runs`` when a run starts, before its first step asks for a slot,
so a plain CLI run frees them itself.

A run is judged dead only on evidence: it ended, or it ran on this host and its
run worker's process (the pid the executor logged) is gone. A run from another
host, or whose process is alive, is left alone.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

POOL = "warehouse"
HOST_TAG = "ml_assets/host"


def record_host(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Tag ``run`` with this host's name, so a later run can judge its pid."""
    if HOST_TAG not in run.tags:
        instance.add_run_tags(run.run_id, {HOST_TAG: socket.gethostname()})


def release_dead_runs(
    instance: dg.DagsterInstance, current_run_id: str, log, pool: str = POOL
) -> list[str]:
    """Free the ``pool`` slots (held or waited for) of every other run that is
    dead, marking an unfinished one failed; returns their run ids."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    holders = {slot.run_id for slot in info.claimed_slots} | {
        step.run_id for step in info.pending_steps
    }
    released = []
    for run_id in sorted(holders - {current_run_id}):
        run = instance.get_run_by_id(run_id)
        reason = dead_reason(instance, run)
        if reason is None:
            log.info(
                f"Run {run_id} holds or waits for the {pool} pool and looks alive; this run "
                "waits for it. If its process is gone, mark it failed in the UI (Terminate) "
                "or run dagster dev, whose run monitoring frees its slot."
            )
            continue
        if run is not None and not run.is_finished:
            instance.report_run_failed(
                run, message=f"Marked failed by run {current_run_id}: {reason}."
            )
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        log.warning(f"Freed the {pool} pool slots of run {run_id}: {reason}.")
        released.append(run_id)
    return released


def dead_reason(instance: dg.DagsterInstance, run: dg.DagsterRun | None) -> str | None:
    """Why ``run`` can no longer use its pool slots, None when it may."""
    if run is None:
        return "the run no longer exists"
    if run.is_finished:
        return f"the run ended ({run.status.value}) without releasing them"
    if run.tags.get(HOST_TAG) != socket.gethostname():
        return None
    pid = worker_pid(instance, run.run_id)
    if pid is None or process_alive(pid):
        return None
    return f"its process (pid {pid} on {socket.gethostname()}) is gone, killed outright"


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the process that ran the run's steps, from the executor's first
    engine event ("Executing steps in process (pid: ...)")."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        metadata = record.dagster_event.event_specific_data.metadata or {}
        if "pid" in metadata:
            return int(metadata["pid"].value)
    return None


def process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` runs on this host (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
