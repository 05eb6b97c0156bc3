"""How truthful the served reasons are: path attribution against exact TreeSHAP.

On a warehouse with a LightGBM churn champion, takes a deterministic sample of
the active customers at the newest scored cutoff, computes each customer's
feature contributions both ways (``scoring.reasons.path_contributions``, which
customer_scores uses, and LightGBM's exact TreeSHAP ``pred_contrib``), and
reports how often the top reason (the largest positive contribution, context
features left out, as ``top_reasons`` ranks them) is the same feature, how
much the three reasons overlap, and the speed of both on that sample.

    python bench/reasons.py --warehouse W --model-dir D [--sample 20000]

The warehouse is opened read-only.
"""

import argparse
import json
import time

import duckdb
import numpy as np

from ml_assets import registry
from ml_assets.models.boosting import matrix
from ml_assets.models.predict import explainer, load
from ml_assets.scoring.reasons import CONTEXT, path_contributions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--sample", type=int, default=20000)
    ap.add_argument("--json")
    args = ap.parse_args()
    with duckdb.connect(args.warehouse, read_only=True) as conn:
        champion = load(*registry.load_alias(conn, "churn", "champion", args.model_dir))
        cutoff = conn.execute("SELECT max(cutoff_date) FROM customer_scores").fetchone()[0]
        frame = conn.execute(
            "SELECT f.* FROM customer_scores s JOIN customer_features f "
            "USING (cutoff_date, customer_id) WHERE s.cutoff_date = ? "
            "ORDER BY hash(f.customer_id), f.customer_id LIMIT ?", [cutoff, args.sample]).df()
    explained = explainer(champion)
    if explained is None:
        raise SystemExit(f"The churn champion {champion.label} has no booster: its reasons come "
                         "from recency, frequency and value, so there is nothing to compare.")
    booster, features = explained
    x = matrix(frame, features)
    began = time.perf_counter()
    path_contributions(booster, x[:1])  # builds the per-leaf table once per booster
    table_s = time.perf_counter() - began
    began = time.perf_counter()
    path = path_contributions(booster, x)
    path_s = time.perf_counter() - began
    began = time.perf_counter()
    shap = booster.predict(x, pred_contrib=True)[:, : len(features)]
    shap_s = time.perf_counter() - began
    context = [j for j, f in enumerate(features) if f in CONTEXT]
    for c in (path, shap):
        c[:, context] = -np.inf
    top_path, top_shap = np.argsort(-path, axis=1)[:, :3], np.argsort(-shap, axis=1)[:, :3]
    result = {
        "champion": champion.label, "cutoff": str(cutoff), "customers": len(frame),
        "trees": booster.num_trees(),
        "top_reason_agrees": round(float(np.mean(top_path[:, 0] == top_shap[:, 0])), 4),
        "top_reason_in_treeshap_top3": round(float(np.mean(
            [a in b for a, b in zip(top_path[:, 0], top_shap)])), 4),
        "top3_overlap": round(float(np.mean(
            [len(set(a) & set(b)) / 3 for a, b in zip(top_path, top_shap)])), 4),
        "path_table_s": round(table_s, 3),
        "path_customers_per_s": round(len(frame) / path_s),
        "treeshap_customers_per_s": round(len(frame) / shap_s),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)


if __name__ == "__main__":
    main()
