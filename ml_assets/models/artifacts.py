"""Model artifacts on disk: LightGBM's native text format plus JSON, never pickle.

A folder holds ``<name>.txt`` for each booster, its ``<name>.onnx`` copy
(``onnx_export.py``, optional) and ``meta.json``. Folders are
written through the registry (which records their sha256) and read back only
after the registry has verified that digest.
"""

import json
from pathlib import Path

import lightgbm as lgb

from ml_assets.models.onnx_export import export_onnx


def write_model(folder: Path, boosters: dict[str, lgb.Booster], meta: dict) -> None:
    """The boosters as text models, their ONNX copies (when the extra is
    installed) and ``meta.json``."""
    for name, booster in boosters.items():
        booster.save_model(str(folder / f"{name}.txt"))
    onnx = export_onnx(folder, boosters, meta.get("features"), meta.get("family"))
    payload = {**meta, "boosters": sorted(boosters), "onnx": onnx}
    (folder / "meta.json").write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))


def read_model(folder: Path) -> tuple[dict[str, lgb.Booster], dict]:
    """Boosters and metadata from a folder the registry has already verified."""
    meta = json.loads((folder / "meta.json").read_text())
    boosters = {
        name: lgb.Booster(model_file=str(folder / f"{name}.txt")) for name in meta["boosters"]
    }
    return boosters, meta
