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


def estimate_plot(perf: pd.DataFrame, min_auc: float) -> str:
    """Churn: the estimated ROC-AUC (left) and ECE (right) of every served cutoff
    with their 95% interval as a band, and the realized value where the labels
    have matured, so the estimate's own error is visible over time."""
    fig = figure(8.0, 3.2)
    axes = fig.subplots(1, 2)
    rows = perf.sort_values("cutoff_date")
    x = pd.to_datetime(rows["cutoff_date"])
    for ax, metric, title in zip(axes, ("roc_auc", "ece"), ("Churn ROC-AUC", "Churn ECE")):
        est = f"estimated_{metric}"
        ax.fill_between(x, rows[f"{est}_low"].astype(float), rows[f"{est}_high"].astype(float),
                        color="tab:blue", alpha=0.2, label="95% interval")
        ax.plot(x, rows[est].astype(float), marker="o", markersize=3, color="tab:blue",
                label="estimated (no labels)")
        ax.plot(x, rows[metric].astype(float), marker="s", markersize=4, linestyle="",
                color="tab:red", label="realized")
        if metric == "roc_auc":
            ax.axhline(min_auc, color="grey", linestyle="--", linewidth=1,
                       label=f"min AUC {min_auc:g}")
        ax.set(title=title)
        ax.legend(fontsize=7)
        ax.tick_params(axis="x", labelsize=7, labelrotation=30)
    return image(fig, "Estimated vs realized churn performance of served scores")


def difference_plot(rows: pd.DataFrame, task: str) -> str:
    """Shadow minus champion in the task's primary metric per matured served
    cutoff, one line per shadow version, with the paired test's 95% interval as
    error bars (filled markers: the shadow won significantly)."""
    fig = figure(5.5, 3.2)
    ax = fig.add_subplot()
    for (name, version), part in rows.groupby(["shadow_model", "shadow_version"], sort=True):
        part = part.sort_values("cutoff_date")
        x = pd.to_datetime(part["cutoff_date"])
        y = part["difference"].to_numpy(float)
        err = np.vstack([y - part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float) - y])
        line = ax.errorbar(x, y, yerr=err, marker="o", markersize=4, capsize=3,
                           label=f"{name} v{version}")
        wins = part["shadow_wins"].to_numpy(bool)
        ax.scatter(x[wins], y[wins], s=40, color=line[0].get_color(), zorder=3)
    ax.axhline(0, color="grey", linewidth=0.8)
    metric = rows["metric"].iloc[0]
    ax.set(title=f"{task}: shadow minus champion", ylabel=f"{metric} difference")
    ax.legend(fontsize=7)
    ax.tick_params(axis="x", labelsize=7, labelrotation=30)
    return image(fig, f"Champion vs shadow ({task})")
