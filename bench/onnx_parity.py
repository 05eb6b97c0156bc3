"""ONNX copies against their LightGBM boosters on a warehouse's newest features.

    python bench/onnx_parity.py --warehouse data/warehouse.duckdb --models data/models

For every version folder holding ``*.onnx``, each booster's raw score from
LightGBM and from onnxruntime on the active customers of the newest cutoff:
the largest relative difference |onnx - lgb| / |lgb| and the largest absolute
one. Needs the ``onnx`` extra (onnx and onnxruntime)."""

import argparse
import json
from pathlib import Path

import duckdb
import lightgbm as lgb
import numpy as np
import onnxruntime as ort

from ml_assets.models.boosting import matrix


def parity(folder: Path, frame) -> list[dict]:
    meta = json.loads((folder / "meta.json").read_text())
    if not meta.get("onnx", {}).get("files"):
        return []
    x = matrix(frame, meta["features"]).astype(np.float64)
    rows = []
    for name in meta.get("onnx", {}).get("files", {}):
        raw = lgb.Booster(model_file=str(folder / f"{name}.txt")).predict(x, raw_score=True)
        session = ort.InferenceSession(str(folder / f"{name}.onnx"),
                                       providers=["CPUExecutionProvider"])
        out = session.run(None, {"input": x})[0].ravel().astype(np.float64)
        diff = np.abs(out - raw)
        # relative to LightGBM's raw score; where that is exactly 0, the difference must be too
        rel = np.divide(diff, np.abs(raw), out=np.where(diff == 0, 0.0, np.inf), where=raw != 0)
        rows.append({"folder": f"{folder.parent.name}/{folder.name}", "booster": name,
                     "rows": len(x), "max_rel": float(rel.max()),
                     "max_abs": float(diff.max()), "trees": meta.get("rounds", {})})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", default="data/warehouse.duckdb")
    parser.add_argument("--models", default="data/models")
    args = parser.parse_args()
    with duckdb.connect(args.warehouse, read_only=True) as conn:
        frame = conn.execute("SELECT * FROM customer_features WHERE cutoff_date = "
                             "(SELECT max(cutoff_date) FROM customer_features)").df()
    for meta in sorted(Path(args.models).glob("*/v*/meta.json")):
        for row in parity(meta.parent, frame):
            print(f"{row['folder']:40s} {row['booster']:6s} rows {row['rows']:6d} "
                  f"max rel {row['max_rel']:.2e} max abs {row['max_abs']:.2e}")


if __name__ == "__main__":
    main()
