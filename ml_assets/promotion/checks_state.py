"""Which asset checks the data a promotion was given passed.

A check's verdict is taken from the run that produced the evaluation being
judged when the check ran in it (the data that evaluation saw), and otherwise
from the check's latest *completed* execution. Another run's planned or
running checks never count: an overlapping run cannot make this one refuse
(or promote) on its behalf.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES,
    AssetCheckExecutionRecordStatus,
)

_HISTORY = 50  # executions looked at per check: enough to find this run's among overlapping runs


def upstream_checks_passed(
    context, evaluation_asset: str, evaluation_run: str
) -> tuple[bool, list[str]]:
    """Every asset check on the evaluation and everything upstream of it must
    have passed (see the module docstring for which execution counts); a check
    that never completed counts as failed. Returns (passed, notes)."""
    graph = context.job_def.asset_layer.asset_graph
    root = dg.AssetKey(evaluation_asset)
    keys = graph.get_check_keys_for_assets(graph.get_ancestor_asset_keys(root, include_self=True))
    storage = context.instance.event_log_storage
    notes = []
    for key in sorted(keys, key=lambda k: k.to_user_string()):
        status = _verdict(storage.get_asset_check_execution_history(key, limit=_HISTORY),
                          evaluation_run)
        if status != AssetCheckExecutionRecordStatus.SUCCEEDED:
            state = "never completed" if status is None else status.value.lower()
            notes.append(f"Upstream check {key.to_user_string()} {state}: not promoting.")
    return not notes, notes


def _verdict(records, run_id: str):
    """The evaluation run's completed execution, else the newest completed one; a
    check planned in that run but not finished counts as not completed (None)."""
    own = [r for r in records if r.run_id == run_id]
    if own:
        done = [r for r in own if r.status in COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES]
        return done[0].status if done else None
    done = [r for r in records if r.status in COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES]
    return done[0].status if done else None
