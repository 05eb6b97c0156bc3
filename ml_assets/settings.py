"""Project settings: one typed resource, every field with a default and an
environment variable named ``ML_ASSETS_<FIELD NAME IN CAPITALS>``.

``Settings.from_env()`` is what the definitions use, so a user changes the
project by exporting variables; the Dagster launchpad can still override any
field for a single run under ``resources.settings.config``.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field, ValidationError, field_validator

ENV_PREFIX = "ML_ASSETS_"
SAMPLE_TRANSACTIONS = "data/sample/transactions.csv"


class Settings(dg.ConfigurableResource):
    """Paths, windows, horizons and thresholds for the whole chain."""

    # --- where things are --------------------------------------------------
    transactions: str = Field(
        default="",
        description="Transaction log to ingest: a CSV or Parquet file. Empty means the "
        f"bundled sample, generated deterministically at {SAMPLE_TRANSACTIONS} on first use.",
    )
    warehouse: str = Field(
        default="data/warehouse.duckdb", description="DuckDB warehouse file."
    )
    duckdb_memory_limit: str = Field(
        default="30%",
        description="DuckDB's memory limit for the warehouse ('8GB', or a share of RAM like "
        "'40%'); beyond it DuckDB spills to disk, leaving memory for model training.",
    )
    model_dir: str = Field(
        default="data/models",
        description="Directory for model artifacts, one folder per model version.",
    )

    # --- reading the log ---------------------------------------------------
    column_map: str = Field(
        default="",
        description="Map canonical columns to the file's own names, e.g. "
        "'customer_id=CustomerID,order_ts=InvoiceDate,amount=Quantity*Price,order_id=Invoice'. "
        "amount may be the product of two columns (quantity times unit price).",
    )
    timestamp_format: str = Field(
        default="",
        description="strptime format for order_ts when it is not ISO 8601, e.g. '%m/%d/%Y %H:%M'.",
    )
    order_id_mode: Literal["unique", "lines"] = Field(
        default="unique",
        description="'unique': one row per order, a repeated order_id is rejected. "
        "'lines': rows are order lines; lines sharing an order_id are summed into one order.",
    )
    duplicate_rows: Literal["reject", "keep"] = Field(
        default="reject",
        description="Exact repeated rows in a log without order ids: 'reject' sets them aside as "
        "duplicates, 'keep' treats them as genuine repeat purchases. Counted either way.",
    )
    earliest_order_date: str = Field(
        default="1970-01-02",
        description="Rows dated before this day (YYYY-MM-DD, UTC) are rejected as implausible "
        "timestamps: exports write a missing date as a sentinel such as 0001-01-01, 1899-12-31 "
        "or Unix time 0 (1970-01-01), which is why the default is the day after it.",
    )
    future_tolerance_days: int = Field(
        default=1, ge=0,
        description="Rows dated more than this many days after the load time are rejected.",
    )
    max_amount: float = Field(
        default=100_000.0, gt=0,
        description="Rows whose absolute amount exceeds this are rejected as implausible.",
    )
    max_rejected_share: float = Field(
        default=0.05, ge=0, le=1,
        description="Asset check: the share of rejected rows must stay at or under this.",
    )

    # --- cutoffs and labels ------------------------------------------------
    partitions_start: str = Field(
        default="2022-01-01",
        description="First monthly cutoff (first of a month). Read when definitions load.",
    )
    partitions_end: str = Field(
        default="2025-01-01",
        description="Last monthly cutoff, inclusive. 'none' for a range that grows with "
        "the calendar. Read when definitions load.",
    )
    churn_window_days: int = Field(
        default=90, ge=1, description="Churned = no purchase in [cutoff, cutoff + this many days)."
    )
    ltv_horizon_days: int = Field(
        default=365, ge=1, description="Future spend = net amount in [cutoff, cutoff + this many days)."
    )
    active_days: int = Field(
        default=365, ge=0,
        description="A customer is active at a cutoff when their last purchase is at most this "
        "many days before it. Models train, are evaluated and score on active customers only; "
        "0 means every customer who has ever purchased.",
    )
    snapshot_batch_rows: int = Field(
        default=5_000_000, ge=1,
        description="The snapshot asset computes and writes its rows a chunk of customers at a "
        "time, every cutoff at once, with about this many (customer, cutoff) rows per chunk, so "
        "its memory stays bounded on large logs (the run still replaces its cutoffs in one "
        "transaction); the result is the same for any value.",
    )

    # --- promotion policy (see ml_assets/promotion/policy.py) ---------------
    promotion_alpha: float = Field(
        default=0.05, gt=0,
        description="The primary metric's gain must be significant: one-sided p-value under this.",
    )
    promotion_min_holdout: int = Field(
        default=500, ge=0, description="No promotion on a holdout with fewer customers than this."
    )
    keep_candidates: int = Field(
        default=5, ge=0,
        description="Retention after each promotion decision: keep every version an alias or "
        "the champion history names, plus this many newest; archive the rest.",
    )
    churn_min_auc_gain: float = Field(
        default=0.002,
        description="Churn: ROC-AUC gain over the champion required to replace it, tested "
        "with DeLong's test (a task's first decision compares with the best baseline that "
        "passes the absolute limits).",
    )
    churn_max_brier_regression: float = Field(
        default=0.002, ge=0, description="Churn guardrail: Brier score may rise at most this much."
    )
    churn_max_ece_regression: float = Field(
        default=0.01, ge=0,
        description="Churn guardrail: expected calibration error may rise at most this much.",
    )
    churn_max_ece: float = Field(
        default=0.05, ge=0, description="Churn limit: expected calibration error at most this."
    )
    ltv_min_gini_gain: float = Field(
        default=0.005,
        description="LTV: normalized Gini gain over the champion required to replace it, "
        "tested with a paired bootstrap (a task's first decision compares with the best "
        "baseline that passes the absolute limits).",
    )
    ltv_max_rmse_regression: float = Field(
        default=0.02, ge=0, description="LTV guardrail: RMSE may rise at most this share (0.02 = 2%)."
    )
    ltv_max_total_error_regression: float = Field(
        default=5.0, ge=0,
        description="LTV guardrail: |total predicted - total actual| in percent of the actual "
        "may rise at most this many points.",
    )
    ltv_max_coverage_drop: float = Field(
        default=0.05, ge=0, description="LTV guardrail: interval coverage may fall at most this much."
    )
    ltv_max_total_error: float = Field(
        default=25.0, ge=0,
        description="LTV limit: |total predicted - total actual| at most this percent of actual.",
    )
    ltv_min_coverage: float = Field(
        default=0.65, ge=0, le=1, description="LTV limit: holdout interval coverage at least this."
    )

    # --- monitoring ---------------------------------------------------------
    drift_psi_threshold: float = Field(
        default=0.2, gt=0,
        description="feature_drift: a feature has drifted when its PSI against the champion's "
        "training population reaches this (0.1-0.2 moderate, above 0.2 a real shift).",
    )
    drift_missing_threshold: float = Field(
        default=0.1, gt=0, le=1,
        description="feature_drift: a feature has also drifted when its share of missing values "
        "moved by at least this (0.1 = 10 percentage points).",
    )
    drift_share_threshold: float = Field(
        default=0.3, gt=0, le=1,
        description="Dataset drift (and a drift retrain) when at least this share of the "
        "features drifted.",
    )
    drift_prediction_psi_threshold: float = Field(
        default=0.2, gt=0,
        description="Dataset drift also when the PSI of the churn probability or the predicted "
        "LTV against the champion's training population reaches this.",
    )
    drift_reference_rows: int = Field(
        default=50_000, ge=100,
        description="feature_drift: at most this many rows of the training population, a "
        "deterministic sample, form the reference.",
    )
    new_data_growth: float = Field(
        default=0.1, gt=0,
        description="New-data sensor: fire when the transaction file has grown by this share "
        "(rows for Parquet, bytes for CSV) since the last load, or holds a newer month.",
    )
    performance_min_auc: float = Field(
        default=0.7, ge=0, le=1,
        description="model_performance: a scored cutoff's churn scores have decayed when their "
        "realized ROC-AUC falls below this.",
    )
    performance_max_ece: float = Field(
        default=0.1, ge=0, le=1,
        description="model_performance: churn scores have also decayed when their realized "
        "expected calibration error exceeds this.",
    )
    performance_max_total_error: float = Field(
        default=30.0, ge=0,
        description="model_performance: LTV scores have decayed when |total predicted - total "
        "realized spend| exceeds this percent of the realized spend.",
    )
    performance_decay_cutoffs: int = Field(
        default=2, ge=1,
        description="Performance sensor: retrain when this many consecutive measured cutoffs, "
        "scored by the current champion, have decayed.",
    )

    performance_estimated_decay_cutoffs: int = Field(
        default=0, ge=0,
        description="Performance sensor: also retrain when the estimated churn ROC-AUC (from the "
        "champion's calibrated probabilities, before labels mature) is below "
        "ML_ASSETS_PERFORMANCE_MIN_AUC on this many consecutive served cutoffs of the current "
        "champion. 0 turns the estimate trigger off.",
    )
    estimate_simulations: int = Field(
        default=500, ge=50,
        description="model_performance: outcome draws behind the 95% interval of the estimated "
        "churn ROC-AUC and ECE (confidence-based performance estimation).",
    )
    label_retrain_min_labels: int = Field(
        default=1000, ge=1,
        description="Label-maturity sensor: retrain when a cutoff newer than the champion's "
        "holdout has matured with at least this many active customers' labels.",
    )

    # --- shadow scoring and promotion on live evidence ---------------------
    shadow_max_versions: int = Field(
        default=2, ge=0,
        description="At most this many shadow versions per task: a candidate that loses (or is "
        "not yet eligible) enters shadow and the oldest shadow beyond this is retired.",
    )
    shadow_promotion_cutoffs: int = Field(
        default=2, ge=1,
        description="shadow_promotion: a shadow version that beat the current champion "
        "significantly on this many matured served cutoffs (and passes the absolute limits) "
        "becomes champion, reason 'shadow evidence'.",
    )

    # --- scoring -------------------------------------------------------------
    risk_thresholds: list[float] = Field(
        default=[0.3, 0.5, 0.7],
        description="Churn probability cut points between the risk levels low, medium, "
        "high and critical.",
    )
    value_segments: list[float] = Field(
        default=[0.5, 0.8, 0.95],
        description="Quantiles of predicted LTV among scored customers that separate the value "
        "segments low, medium, high and top.",
    )
    segment_new_days: int = Field(
        default=90, ge=0,
        description="Segments: a customer whose first purchase is fewer than this many days "
        "before the cutoff is 'new', whatever their risk or value.",
    )
    segment_at_risk_probability: float = Field(
        default=0.5, ge=0, le=1,
        description="Segments: a churn probability at or above this puts a customer 'at risk' "
        "(the default is where the risk level 'high' starts).",
    )
    segment_high_value: Literal["medium", "high", "top"] = Field(
        default="high",
        description="Segments: customers in this value segment or above count as high value "
        "(with the default value segments, the top 20% of predicted LTV).",
    )
    scoring_batch_rows: int = Field(
        default=100_000, ge=1,
        description="customer_scores reads, predicts and explains this many customers at a "
        "time, so its memory does not grow with the population (the result is the same).",
    )

    @field_validator("risk_thresholds", "value_segments")
    @classmethod
    def _three_increasing_shares(cls, value: list[float]) -> list[float]:
        if len(value) != 3 or list(value) != sorted(value) or not all(0 <= v <= 1 for v in value):
            raise ValueError(f"expected three increasing numbers in [0, 1], e.g. 0.3,0.5,0.7; "
                             f"got {value}")
        return value

    @field_validator("earliest_order_date")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        date.fromisoformat(value.strip())
        return value.strip()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Settings from ``ML_ASSETS_*`` variables, defaults for the rest, validated
        (types, choices, bounds) with a message naming the variable. Without
        ``environ``, the process environment is parsed once per distinct value."""
        if environ is None:
            return _from_process_env(_project_variables(os.environ))
        return _build(cls, environ)

    # --- derived values ----------------------------------------------------
    def transactions_path(self) -> Path:
        return Path(self.transactions or SAMPLE_TRANSACTIONS)

    def uses_sample(self) -> bool:
        return not self.transactions

    def first_cutoff(self) -> date:
        return _parse_month(self.partitions_start, "partitions_start")

    def last_cutoff(self) -> date | None:
        if self.partitions_end.strip().lower() in ("", "none"):
            return None
        return _parse_month(self.partitions_end, "partitions_end")


def _project_variables(environ) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in environ.items() if k.startswith(ENV_PREFIX)))


@lru_cache(maxsize=8)
def _from_process_env(variables: tuple[tuple[str, str], ...]) -> Settings:
    return _build(Settings, dict(variables))


def _build(cls, environ) -> Settings:
    values = {}
    for name, field in cls.model_fields.items():
        var = env_var(name)
        if var in environ:
            values[name] = _parse(environ[var], field.annotation, var, field.default)
    try:
        return cls(**values)
    except ValidationError as error:
        problems = "; ".join(
            f"{env_var(str(e['loc'][0]))}={environ.get(env_var(str(e['loc'][0])), '')!r}: {e['msg']}"
            for e in error.errors()
        )
        raise dg.DagsterInvalidConfigError(
            f"Invalid settings: {problems}. Fix or unset the variable (see the README's settings "
            "table for each default).", [], None,
        ) from None


def _parse(raw: str, kind, var: str, default):
    """The text of an environment variable as the field's type; lists are
    comma-separated ("0.3,0.5,0.7")."""
    try:
        if kind in (int, float, "int", "float"):
            return (int if kind in (int, "int") else float)(raw)
        if kind in (list[float], "list[float]"):
            return [float(v) for v in raw.split(",") if v.strip()]
    except ValueError:
        raise dg.DagsterInvalidConfigError(
            f"{var}={raw!r} is not valid: expected {'numbers separated by commas' if 'list' in str(kind) else 'a number'}; "
            f"unset it for the default ({default!r}).", [], None,
        ) from None
    return raw


def env_var(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _parse_month(value: str, field_name: str) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        day = None
    if day is None or day.day != 1:
        raise dg.DagsterInvalidDefinitionError(
            f"{env_var(field_name)}={value!r} must be the first day of a month as "
            "YYYY-MM-01, for example 2022-01-01."
        )
    return day
