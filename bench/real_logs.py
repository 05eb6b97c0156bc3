"""The project's models against their peers on real logs and the bundled sample.

Runs the README's main command (``dg launch --job retrain_job`` then
``--job scoring_job``) for each log in its own warehouse, model folder and
Dagster instance, with only environment variables changed, and prints the
holdout comparison every evaluation records: the learned model, the plain
LightGBM a user writes first, BG/NBD (x Gamma-Gamma) and the rules, on the
same holdout customers.

    python ../shared/realdata/cdnow.py --out data/real/cdnow.csv
    python bench/real_logs.py --cdnow data/real/cdnow.csv [--out bench/results/real_logs.md]

CDNOW (23,570 customers who first bought in Q1 1997, their purchases to June
1998) is the standard benchmark log of the BTYD literature; it is not
committed and no test needs it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# the settings an 18-month log needs: cutoffs inside it, label windows it can mature
CDNOW = {
    "ML_ASSETS_PARTITIONS_START": "1997-02-01",
    "ML_ASSETS_PARTITIONS_END": "1998-07-01",
    "ML_ASSETS_LTV_HORIZON_DAYS": "120",
}
CHURN = ["roc_auc", "pr_auc", "ece", "brier"]
LTV = ["normalized_gini", "spearman", "rmse", "total_ratio", "coverage"]


def run_chain(name: str, env: dict, work: Path) -> dict:
    """The main command in a fresh instance; returns wall time and exit codes."""
    home = work / name
    home.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "dagster.yaml").read_text().replace("base_dir: .dagster", f"base_dir: {home}/.dagster")
    (home / "dagster.yaml").write_text(text)
    full = {**os.environ, **env, "DAGSTER_HOME": str(home),
            "ML_ASSETS_WAREHOUSE": str(home / "warehouse.duckdb"),
            "ML_ASSETS_MODEL_DIR": str(home / "models")}
    start, codes = time.perf_counter(), []
    for job in ("retrain_job", "scoring_job"):
        with open(home / f"{job}.log", "w") as log:
            codes.append(subprocess.run(["dg", "launch", "--job", job], cwd=ROOT, env=full,
                                        stdout=log, stderr=subprocess.STDOUT).returncode)
    return {"wall_s": time.perf_counter() - start, "exit_codes": codes,
            "warehouse": home / "warehouse.duckdb"}


def comparison(warehouse: Path) -> dict[str, pd.DataFrame]:
    """Per task, the newest evaluation's models as rows and its metrics as columns."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        frame = conn.execute(
            "WITH newest AS (SELECT task, max(evaluated_at) AS at FROM evaluation_metrics "
            "GROUP BY task) SELECT m.task, m.role, m.model_name, m.metric, m.value, m.cutoff_date "
            "FROM evaluation_metrics m JOIN newest n ON m.task = n.task AND m.evaluated_at = n.at"
        ).df()
        champions = conn.execute("SELECT task, model_name, version FROM model_aliases "
                                 "WHERE alias = 'champion'").fetchall()
    out = {}
    for task, metrics in (("churn", CHURN), ("ltv", LTV)):
        rows = frame[frame["task"] == task]
        table = rows.pivot_table(index=["model_name", "role"], columns="metric", values="value")
        out[task] = table[[m for m in metrics if m in table]].sort_values(metrics[0], ascending=False)
        out[f"{task}_holdout"] = str(rows["cutoff_date"].iloc[0])[:10] if len(rows) else "none"
    out["champions"] = {task: f"{name} v{version}" for task, name, version in champions}
    return out


def report(name: str, run: dict, result: dict) -> str:
    lines = [f"## {name}", "",
             f"main command: {run['wall_s']:.1f} s, exit codes {run['exit_codes']}; champions: "
             + ", ".join(f"{t} = {m}" for t, m in sorted(result["champions"].items())), ""]
    for task in ("churn", "ltv"):
        lines += [f"{task} (holdout {result[f'{task}_holdout']}):", "",
                  result[task].round(4).to_markdown(), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdnow", type=Path, help="CDNOW master log (../shared/realdata/cdnow.py)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "data" / "real_logs")
    parser.add_argument("--out", type=Path, help="Also write the report here (markdown).")
    parser.add_argument("--skip-sample", action="store_true")
    args = parser.parse_args(argv)
    logs = [] if args.skip_sample else [("default sample", {"ML_ASSETS_TRANSACTIONS": ""})]
    if args.cdnow:
        logs.append(("CDNOW", {"ML_ASSETS_TRANSACTIONS": str(args.cdnow.resolve()), **CDNOW}))
    sections = []
    for name, env in logs:
        run = run_chain(name.split()[0].lower(), env, args.work)
        sections.append(report(name, run, comparison(run["warehouse"])))
        print(sections[-1], flush=True)
    if args.out:
        args.out.write_text("# Holdout comparison on real and generated logs\n\n"
                            + "\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
