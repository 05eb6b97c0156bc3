"""Small PNG charts and markdown tables for asset metadata.

Each plot function returns ``![title](data:image/png;base64,...)``, ready for
``dagster.MetadataValue.md``. Figures are built with ``matplotlib.figure.Figure``
and rendered by the Agg canvas directly, never through pyplot: no display or
GUI backend is touched, nothing is registered in pyplot's global figure list
(so there is nothing to leak or close), and it is safe in threads, as
matplotlib recommends for servers.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from ml_assets.lib.metrics import (
    calibration_table,
    churn_inputs,
    decile_table,
    lift_table,
    paired_inputs,
)

FIGSIZE = (5.0, 3.5)
DPI = 90
_DIAGONAL = {"color": "grey", "linestyle": ":", "linewidth": 1}


def roc_plot(y_true, preds: dict[str, np.ndarray]) -> str:
    """ROC curve per model with its AUC in the legend, and the chance diagonal."""
    y = _labels(y_true, preds)
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], **_DIAGONAL)
    if y.min() == y.max():
        _note(ax, "ROC undefined: the holdout has one class")
    else:
        for name, p in preds.items():
            fpr, tpr, _ = roc_curve(y, p)
            ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, p):.3f})")
        ax.legend(loc="lower right", fontsize=7)
    ax.set(xlabel="False positive rate", ylabel="True positive rate", xlim=(0, 1), ylim=(0, 1))
    return image(fig, "ROC curves")


def calibration_plot(y_true, preds: dict[str, np.ndarray]) -> str:
    """Reliability diagram: observed churn rate against mean predicted
    probability in 10 equal-frequency bins per model; the diagonal is perfect."""
    y = _labels(y_true, preds)
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], **_DIAGONAL)
    for name, p in preds.items():
        table = calibration_table(y, p)
        ax.plot(table["mean_pred"], table["observed_rate"], marker="o", markersize=3, label=name)
    ax.legend(loc="upper left", fontsize=7)
    ax.set(xlabel="Mean predicted probability", ylabel="Observed churn rate",
           xlim=(0, 1), ylim=(0, 1))
    return image(fig, "Calibration")


def lift_plot(y_true, preds: dict[str, np.ndarray]) -> str:
    """Cumulative gains by decile: share of all churners found when contacting
    the top 10%, 20%, ... of customers by each model's probability."""
    y = _labels(y_true, preds)
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], **_DIAGONAL)
    if y.sum() == 0:
        _note(ax, "Gains undefined: no churners in the holdout")
    else:
        for name, p in preds.items():
            table = lift_table(y, p)
            share = np.concatenate([[0.0], table["n"].cumsum() / len(y)])
            recall = np.concatenate([[0.0], table["cumulative_recall"]])
            ax.plot(share, recall, marker="o", markersize=3, label=name)
        ax.legend(loc="lower right", fontsize=7)
    ax.set(xlabel="Share of customers contacted (highest risk first)",
           ylabel="Share of churners found", xlim=(0, 1), ylim=(0, 1))
    return image(fig, "Cumulative gains")


def decile_plot(y_true, preds: dict[str, np.ndarray]) -> str:
    """Mean predicted and mean actual spend by predicted decile (10 = highest) for
    the first model as bars; for other models, their mean actual spend by their
    own deciles as lines (a steeper line ranks customers better)."""
    y = _values(y_true, preds)
    fig, ax = _figure()
    (first, p_first), *others = preds.items()
    table = decile_table(y, p_first)
    ax.bar(table["decile"] - 0.2, table["mean_pred"], width=0.4, label=f"{first} predicted")
    ax.bar(table["decile"] + 0.2, table["mean_true"], width=0.4, label=f"{first} actual")
    for name, p in others:
        other = decile_table(y, p)
        ax.plot(other["decile"], other["mean_true"], marker="o", markersize=3,
                label=f"{name} actual")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(range(1, 11))
    ax.legend(loc="upper left", fontsize=7)
    ax.set(xlabel="Predicted decile (10 = highest)", ylabel="Mean spend per customer")
    return image(fig, "Spend by predicted decile")


def importance_plot(importance: pd.Series, top: int = 15) -> str:
    """Horizontal bars of the ``top`` largest importances, largest on top."""
    values = pd.to_numeric(pd.Series(importance), errors="raise")
    if values.empty:
        raise ValueError("importance is empty; pass one value per feature, indexed by name.")
    if values.isna().any():
        raise ValueError("importance has NaN values; fill or drop them before plotting.")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}.")
    total = float(values.abs().sum()) or 1.0
    shown = values.sort_values(ascending=False).head(top).iloc[::-1] / total * 100
    fig, ax = _figure(height=max(2.0, 0.22 * len(shown) + 0.8))
    ax.barh([str(name) for name in shown.index], shown.to_numpy())
    ax.tick_params(axis="y", labelsize=7)
    ax.set(xlabel=f"{values.name or 'importance'}, % of total")
    return image(fig, f"Top {len(shown)} features")


def _labels(y_true, preds: dict) -> np.ndarray:
    """Binary labels, with every model's probabilities validated against them."""
    y = _values(y_true, preds)
    for p in preds.values():
        churn_inputs(y, p)
    return y


def _values(y_true, preds: dict) -> np.ndarray:
    """y_true as an array, with every model's predictions validated against it."""
    if not preds:
        raise ValueError("preds is empty; pass {model name: predictions}.")
    for name, p in preds.items():
        try:
            y, _ = paired_inputs(y_true, p, pred_name="predictions")
        except ValueError as exc:
            raise ValueError(f"Cannot plot model '{name}': {exc}") from exc
    return y


def _figure(height: float = FIGSIZE[1]) -> tuple[Figure, object]:
    fig = figure(FIGSIZE[0], height)
    return fig, fig.add_subplot()


def figure(width: float, height: float) -> Figure:
    """An off-screen figure (no GUI backend)."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, transform=ax.transAxes)


def image(fig: Figure, title: str) -> str:
    """The figure as a PNG data URI inside markdown, which the Dagster UI renders."""
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = title.replace("[", "(").replace("]", ")")
    return f"![{alt}](data:image/png;base64,{encoded})"
