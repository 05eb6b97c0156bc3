"""Holdout metrics and training time against the size of the training sample.

The evidence behind ``max_training_rows``: on a warehouse whose snapshots are
built (a large generated log, or a real one), train the churn and LTV models
exactly as the model step does (``plan_split``, ``load_frame`` with a
per-cutoff sample, ``train_churn`` / ``train_ltv``) at several sample sizes,
and score each on every customer of the same holdout cutoff.

    python bench/training_sample.py --warehouse W --per-cutoff 5000,10000,20000,40000,80000 \\
        [--ltv-days 365] [--json bench/results/training_sample_10m.json]

The warehouse is opened read-only. Writes a markdown table to stdout (and the
rows as JSON with ``--json``).
"""

import argparse
import json
import time

import duckdb
import pandas as pd

from model_experiments import churn_scores, ltv_scores  # bench/, beside this script
from ml_assets.lib.tables import markdown_table
from ml_assets.models.churn import churn_probability, train_churn
from ml_assets.models.config import ChurnModelConfig, LtvModelConfig
from ml_assets.models.data import feature_columns, load_frame, mature_cutoffs
from ml_assets.models.ltv import ltv_prediction, train_ltv
from ml_assets.models.splits import plan_split


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--per-cutoff", default="5000,10000,20000,40000,80000")
    ap.add_argument("--churn-days", type=int, default=90)
    ap.add_argument("--ltv-days", type=int, default=365)
    ap.add_argument("--active-days", type=int, default=365)
    ap.add_argument("--task", default="both")
    ap.add_argument("--json")
    args = ap.parse_args()
    conn = duckdb.connect(args.warehouse, read_only=True)
    rows = []
    for task in (["churn", "ltv"] if args.task == "both" else [args.task]):
        horizon = args.churn_days if task == "churn" else args.ltv_days
        config = (ChurnModelConfig if task == "churn" else LtvModelConfig)()
        split = plan_split(mature_cutoffs(conn, task), horizon, config.training_cutoffs,
                           config.validation_folds)
        holdout = load_frame(conn, [split.holdout], task, args.active_days)
        label, scorer = ("churned", churn_scores) if task == "churn" else ("future_spend",
                                                                          ltv_scores)
        y = holdout[label].astype(float).to_numpy()
        for per_cutoff in [int(v) for v in args.per_cutoff.split(",")]:
            frame = load_frame(conn, list(split.train), task, args.active_days, per_cutoff)
            features = feature_columns(frame)
            began = time.perf_counter()
            if task == "churn":
                fit = train_churn(frame, features, split, config)
                pred = churn_probability(fit["boosters"], fit["meta"], holdout)
            else:
                fit = train_ltv(frame, features, split, config)
                pred = ltv_prediction(fit["boosters"], fit["meta"], holdout)[0]
            rows.append({"task": task, "per_cutoff": per_cutoff, "training_rows": len(frame),
                         "cutoffs": len(split.train), "holdout_rows": len(holdout),
                         "train_s": round(time.perf_counter() - began, 1),
                         "rounds": json.dumps(fit["meta"].get("rounds")),
                         **{k: round(float(v), 4) for k, v in scorer(y, pred).items()}})
            print(rows[-1], flush=True)
    print(markdown_table(pd.DataFrame(rows), ".4f"))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
