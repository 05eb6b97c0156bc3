"""PNG charts for the monitoring assets, as markdown image data URIs, drawn
with the shared figure helpers of ``ml_assets.lib.plots``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_assets.lib.plots import figure, image


def psi_plot(rows: pd.DataFrame, threshold: float, top: int = 15) -> str:
    """Horizontal bars of the ``top`` largest PSIs (drifted ones in red) and the
    threshold as a dashed line."""
    shown = rows.dropna(subset=["psi"]).sort_values("psi", ascending=False).head(top).iloc[::-1]
    fig = figure(5.5, max(2.0, 0.22 * len(shown) + 1.0))
    ax = fig.add_subplot()
    if shown.empty:
        ax.text(0.5, 0.5, "No feature has a PSI (empty samples)", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)
    else:
        colors = np.where(shown["drifted"].to_numpy(bool), "tab:red", "tab:blue")
        ax.barh(shown["feature"].astype(str), shown["psi"].to_numpy(float), color=colors)
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1,
                   label=f"threshold {threshold:g}")
        ax.legend(fontsize=7, loc="lower right")
        ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("PSI vs the champion's training population")
    return image(fig, f"Feature drift (top {len(shown)} by PSI)")


def performance_plot(perf: pd.DataFrame, min_auc: float, max_total_error: float) -> str:
    """Realized churn ROC-AUC and ECE (left) and LTV total-spend error (right)
    per scored cutoff, with the decay thresholds."""
    fig = figure(8.0, 3.2)
    left, right = fig.subplots(1, 2)
    measured = perf[perf["status"] != "pending"].sort_values("cutoff_date")
    x = pd.to_datetime(measured["cutoff_date"])
    left.plot(x, measured["roc_auc"], marker="o", markersize=3, label="ROC-AUC")
    left.plot(x, measured["ece"], marker="o", markersize=3, label="ECE")
    left.axhline(min_auc, color="tab:blue", linestyle="--", linewidth=1, label=f"min AUC {min_auc:g}")
    left.set(title="Churn", ylim=(0, 1))
    complete = measured[measured["status"] == "complete"]
    right.plot(pd.to_datetime(complete["cutoff_date"]), complete["total_spend_error_pct"],
               marker="o", markersize=3, color="tab:green", label="total error %")
    for bound in (max_total_error, -max_total_error):
        right.axhline(bound, color="tab:green", linestyle="--", linewidth=1)
    right.axhline(0, color="grey", linewidth=0.8)
    right.set(title="LTV")
    for ax in (left, right):
        ax.legend(fontsize=7)
        ax.tick_params(axis="x", labelsize=7, labelrotation=30)
        if measured.empty:
            ax.text(0.5, 0.5, "No mature labels yet", ha="center", va="center",
                    transform=ax.transAxes, fontsize=8)
    return image(fig, "Realized performance of served scores")
