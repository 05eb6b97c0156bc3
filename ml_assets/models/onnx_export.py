"""ONNX copies of a version's LightGBM boosters, for serving outside Python
(optional extra ``onnx``: onnx + onnxruntime).

Written into the version's folder while it is registered, so the folder's
sha256 covers them. The native LightGBM text model stays the source of truth.
Each ``<booster>.onnx`` is one ``TreeEnsemble`` (ONNX-ML opset 5) computing
that booster's **raw score** (the sum of its trees' leaves) in float64 from a
float64 matrix ``input`` whose columns are ``meta.json``'s ``features`` in
order (NaN = missing). It is built from LightGBM's own tree dump with the split
thresholds and leaf values as float64, so a raw score matches LightGBM's to
rounding; converters that store them as float32 route values near a threshold
differently. What follows the raw score stays outside the boosters and is
described in ``meta.json`` (``onnx.after``):

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

from pathlib import Path

import lightgbm as lgb
import numpy as np

AFTER = {
    "churn": "sigmoid(a * raw + b [+ c * logit(btyd_p_no_purchase)]) with meta.calibration",
    "mean": "exp(raw + log(max(meta.offset.column, meta.offset.floor))), or exp(raw) without offset",
    "lower": "raw is the lower quantile; minus meta.conformal_margin, then at most the mean",
    "upper": "raw is the upper quantile; plus meta.conformal_margin, then at least the mean",
    "model": "plain LightGBM: sigmoid(raw) for churn, max(raw, 0) for LTV",
}
OPSET, ML_OPSET = 21, 5
_LEQ = 0  # TreeEnsemble node mode BRANCH_LEQ: x <= threshold


def available() -> bool:
    try:
        import onnx  # noqa: F401
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
        (folder / f"{name}.onnx").write_bytes(to_onnx(booster).SerializeToString())
        files[name] = f"{name}.onnx"
    return {"exported": True, "files": files, "op": "ai.onnx.ml TreeEnsemble (opset 5)",
            "input": "input: float64 [n, len(features)], columns in meta.features order, NaN = missing",
            "output": "raw: float64 [n, 1], the raw score (sum of the trees' leaves)",
            "after": {n: AFTER.get(n, "see ml_assets/models/onnx_export.py") for n in files}}


def to_onnx(booster: lgb.Booster):
    """The booster as an ONNX model of its raw score."""
    from onnx import TensorProto, helper, numpy_helper

    dump = booster.dump_model()
    n_features = dump["max_feature_idx"] + 1
    nodes, leaves, roots = _Nodes(), [], []
    for tree in dump["tree_info"]:
        structure = tree["tree_structure"]
        if "leaf_value" in structure:  # a single-leaf tree: a split both sides of which are it
            structure = {"split_feature": 0, "threshold": 0.0, "decision_type": "<=",
                         "missing_type": "None", "default_left": True,
                         "left_child": structure, "right_child": structure}
        roots.append(_walk(structure, nodes, leaves))
    tensor = numpy_helper.from_array
    node = helper.make_node(
        "TreeEnsemble", ["input"], ["raw"], domain="ai.onnx.ml",
        n_targets=1, aggregate_function=1, post_transform=0, tree_roots=roots,
        nodes_featureids=nodes.feature, nodes_modes=tensor(np.full(len(nodes.feature), _LEQ, np.uint8)),
        nodes_splits=tensor(np.array(nodes.threshold, np.float64)),
        nodes_truenodeids=nodes.true_id, nodes_trueleafs=nodes.true_leaf,
        nodes_falsenodeids=nodes.false_id, nodes_falseleafs=nodes.false_leaf,
        nodes_missing_value_tracks_true=nodes.missing_true,
        leaf_targetids=[0] * len(leaves), leaf_weights=tensor(np.array(leaves, np.float64)),
    )
    graph = helper.make_graph(
        [node], "lightgbm_raw_score",
        [helper.make_tensor_value_info("input", TensorProto.DOUBLE, [None, n_features])],
        [helper.make_tensor_value_info("raw", TensorProto.DOUBLE, [None, 1])],
    )
    return helper.make_model(graph, producer_name="ml_assets", opset_imports=[
        helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)])


class _Nodes:
    """TreeEnsemble's parallel node arrays."""

    def __init__(self):
        self.feature, self.threshold, self.missing_true = [], [], []
        self.true_id, self.true_leaf, self.false_id, self.false_leaf = [], [], [], []


def _walk(split: dict, nodes: _Nodes, leaves: list) -> int:
    """Append a split (and below it) to the arrays; returns its node index.

    LightGBM sends x <= threshold left; a missing value (NaN) goes the default
    side when its missing type is NaN, and is read as 0 when it is None."""
    if split["decision_type"] != "<=" or split["missing_type"] not in ("NaN", "None"):
        raise ValueError(
            f"ONNX export handles numerical splits with NaN or no missing values; this booster "
            f"has a {split['decision_type']!r} split with missing type {split['missing_type']!r}."
        )
    index = len(nodes.feature)
    nodes.feature.append(split["split_feature"])
    nodes.threshold.append(float(split["threshold"]))
    left_on_missing = split["default_left"] if split["missing_type"] == "NaN" else 0.0 <= split["threshold"]
    nodes.missing_true.append(int(left_on_missing))
    for side, ids, is_leaf in (("left_child", nodes.true_id, nodes.true_leaf),
                               ("right_child", nodes.false_id, nodes.false_leaf)):
        ids.append(0)
        is_leaf.append(0)
    for side, ids, is_leaf in (("left_child", nodes.true_id, nodes.true_leaf),
                               ("right_child", nodes.false_id, nodes.false_leaf)):
        child = split[side]
        if "leaf_value" in child:
            ids[index], is_leaf[index] = len(leaves), 1
            leaves.append(float(child["leaf_value"]))
        else:
            ids[index] = _walk(child, nodes, leaves)
    return index
