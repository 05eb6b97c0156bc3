"""ONNX copies of a version's LightGBM boosters, for serving outside Python
(optional extra ``onnx``: onnxmltools + onnxruntime).

Written into the version's folder while it is registered, so the folder's
sha256 covers them. The native LightGBM text model stays the source of truth.
Each ``<booster>.onnx`` computes that booster's **raw score** (the sum of its
trees) from a ``float64`` matrix ``input`` whose columns are ``meta.json``'s
``features`` in order (NaN = missing). What follows the raw score stays outside
the boosters and is described in ``meta.json`` (``onnx.after``):

- churn: ``sigmoid(a * raw + b [+ c * logit(btyd_p_no_purchase)])`` with
  ``calibration``;
- LTV ``mean``: ``exp(raw + log(max(offset column, floor)))`` with ``offset``
  (or ``exp(raw)`` without one); ``lower`` / ``upper`` (quantile boosters):
  ``raw`` is the quantile, then widened by ``conformal_margin`` and made to
  contain the mean, as ``ml_assets.models.ltv.ltv_prediction`` does;
- plain LightGBM baselines: ``sigmoid(raw)`` (churn) or ``max(raw, 0)`` (LTV).

Rule and BTYD baselines have no booster: nothing is exported, and ``onnx``
says so.
"""

from __future__ import annotations

import re
from pathlib import Path

import lightgbm as lgb

AFTER = {
    "churn": "sigmoid(a * raw + b [+ c * logit(btyd_p_no_purchase)]) with meta.calibration",
    "mean": "exp(raw + log(max(meta.offset.column, meta.offset.floor))), or exp(raw) without offset",
    "lower": "raw is the lower quantile; minus meta.conformal_margin, then at most the mean",
    "upper": "raw is the upper quantile; plus meta.conformal_margin, then at least the mean",
    "model": "plain LightGBM: sigmoid(raw) for churn, max(raw, 0) for LTV",
}


def available() -> bool:
    try:
        import onnxmltools  # noqa: F401
    except ImportError:
        return False
    return True


def export_onnx(folder: Path, boosters: dict[str, lgb.Booster], features: list[str] | None,
                family: str | None) -> dict:
    """Write ``<name>.onnx`` beside each booster; returns what ``meta.json``
    records under ``onnx`` (the files, or why there are none)."""
    if not boosters:
        return {"exported": False,
                "reason": f"a {family or 'baseline'} model has no LightGBM booster: nothing to "
                          "export (its meta.json is the whole model)"}
    if not available():
        return {"exported": False,
                "reason": "the onnx extra is not installed (pip install -e '.[onnx]')"}
    files = {}
    for name, booster in boosters.items():
        (folder / f"{name}.onnx").write_bytes(to_onnx(booster, len(features)).SerializeToString())
        files[name] = f"{name}.onnx"
    return {"exported": True, "files": files, "input": "float64 [n, len(features)], NaN = missing",
            "output": "float32 raw score (sum of the trees)",
            "after": {n: AFTER.get(n, "see ml_assets/models/onnx_export.py") for n in files}}


def to_onnx(booster: lgb.Booster, n_features: int):
    """The booster as an ONNX TreeEnsembleRegressor of its raw score: converted
    as a plain regression so no link function (sigmoid, exp) is folded in."""
    import onnxmltools
    from onnxmltools.convert.common.data_types import DoubleTensorType

    text = re.sub(r"^objective=.*$", "objective=regression", booster.model_to_string(),
                  flags=re.M)
    raw = lgb.Booster(model_str=text)
    raw.params = {**raw.params, "objective": "regression"}
    return onnxmltools.convert_lightgbm(
        raw, initial_types=[("input", DoubleTensorType([None, n_features]))], zipmap=False
    )
