"""Identity along the asset graph: what a model, evaluation or promotion step
hands to the next (the registered version it made, the evaluation id and the
champion it compared against), stored as JSON per run.

A step reads the value its upstream wrote in the run Dagster names for it
(the same run, or the parent run of a re-execution), so overlapping runs
never cross their wires; only when the upstream ran in neither does it read
the value of the upstream's latest materialization.
Values are small JSON documents, never pickles.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg


class HandoffIOManager(dg.ConfigurableIOManager):
    """JSON values under ``<instance storage>/handoffs/<asset>/<run id>.json``."""

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        path = _path(context.step_context.instance, context.asset_key, context.run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
        os.replace(tmp, path)

    def load_input(self, context: dg.InputContext):
        instance, key = context.instance, context.asset_key
        for run_id in _runs_to_try(context):
            path = _path(instance, key, run_id)
            if path.exists():
                return json.loads(path.read_text())
        event = instance.get_latest_materialization_event(key)
        path = None if event is None else _path(instance, key, event.run_id)
        if path is None or not path.exists():
            raise dg.Failure(
                f"{key.to_user_string()} has no recorded output to hand on: materialize it "
                "(or the chain up to it) first."
            )
        return json.loads(path.read_text())


def _runs_to_try(context: dg.InputContext) -> list[str]:
    """The run Dagster says produced the upstream output (the parent run on a
    re-execution), then this run."""
    runs = []
    try:
        upstream = context.upstream_output
        if upstream is not None and upstream.run_id:
            runs.append(upstream.run_id)
    except dg.DagsterInvariantViolationError:
        pass  # no run id known for an output outside this run
    runs.append(context.step_context.run_id)
    return list(dict.fromkeys(runs))


def _path(instance: dg.DagsterInstance, key: dg.AssetKey, run_id: str) -> Path:
    return Path(instance.storage_directory()) / "handoffs" / "__".join(key.path) / f"{run_id}.json"
