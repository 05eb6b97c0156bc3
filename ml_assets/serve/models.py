"""The models that answer: each task's champion, verified by sha256 when the
service starts and again whenever the task's champion alias moves; when a
champion cannot be loaded or verified, the best baseline of that task's latest
evaluation, and the answer says so."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import duckdb

from ml_assets import registry
from ml_assets.lib.warehouse import read_sql, table_exists
from ml_assets.models.predict import Loaded, load

PRIMARY = {"churn": "roc_auc", "ltv": "normalized_gini"}


class NoModel(Exception):
    """Neither the champion nor any baseline of a task can be used."""


@dataclass
class Serving:
    """What answers for one task, and why."""

    champion: tuple[str, int] | None  # where the alias pointed when this was loaded
    model: Loaded
    fallback: bool = False
    note: str = ""

    def describe(self) -> dict:
        return {"name": self.model.row["model_name"], "version": int(self.model.row["version"]),
                "family": self.model.family, "sha256": self.model.row["sha256"],
                "champion": None if self.champion is None else f"{self.champion[0]} v{self.champion[1]}",
                "fallback": self.fallback, **({"note": self.note} if self.note else {})}


@dataclass
class Models:
    """Per task, the model serving now; ``current`` reloads a task whose
    champion alias moved since it was loaded (verifying its sha256 again)."""

    model_dir: str
    serving: dict[str, Serving] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, conn: duckdb.DuckDBPyConnection) -> dict[str, Serving]:
        try:
            refs = {task: registry.resolve_alias(conn, task, "champion") for task in registry.TASKS}
        except duckdb.CatalogException:  # no registry yet
            refs = dict.fromkeys(registry.TASKS)
        with self.lock:
            for task, ref in refs.items():
                held = self.serving.get(task)
                if held is None or held.champion != ref:
                    self.serving[task] = serve_task(conn, task, ref, self.model_dir)
            return dict(self.serving)


def serve_task(conn, task: str, ref: tuple[str, int] | None, model_dir: str) -> Serving:
    """The champion ``ref`` verified and loaded, or else the best loadable baseline
    of the task's latest evaluation, with the reason."""
    if ref is not None:
        try:
            return Serving(ref, load(*registry.load_verified(conn, ref[0], version=ref[1],
                                                             model_dir=model_dir)))
        except registry.RegistryError as error:
            problem = f"champion {ref[0]} v{ref[1]} cannot be used: {error}"
    else:
        problem = f"the {task} task has no champion"
    skipped = []
    for evaluation_id, name, version, value in _baselines(conn, task):
        try:
            model = load(*registry.load_verified(conn, name, version=int(version),
                                                 model_dir=model_dir))
        except registry.RegistryError as error:
            skipped.append(f"{name} v{version}: {error}")
            continue
        note = (f"{problem}; answering from the best baseline of evaluation {evaluation_id}: "
                f"{name} v{version} ({PRIMARY[task]} {value:.4f})")
        if skipped:
            note += "; skipped " + "; ".join(skipped)
        return Serving(ref, model, fallback=True, note=note)
    raise NoModel(f"No {task} model can answer: {problem}, and no baseline of its latest "
                  f"evaluation can be loaded ({'; '.join(skipped) or 'none evaluated'}). Run "
                  "`dg launch --job retrain_job`, or check `python -m ml_assets.registry verify`.")


def _baselines(conn, task: str) -> list[tuple]:
    if not table_exists(conn, "evaluation_metrics"):
        return []
    return conn.execute(read_sql(__file__, "best_baselines.sql"),
                        {"task": task, "metric": PRIMARY[task]}).fetchall()
