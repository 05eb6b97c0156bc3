"""One customer's score at an as-of date: the JSON both the CLI and the HTTP
service answer with."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import numpy as np

from ml_assets.lib.warehouse import read_sql
from ml_assets.scoring.frame import score_frame, value_segments
from ml_assets.scoring.segments import segments
from ml_assets.serve.features import btyd_fit, customer_features
from ml_assets.serve.models import Models
from ml_assets.settings import Settings


class UnknownCustomer(LookupError):
    """The customer id is not in the transaction log (HTTP 404)."""


class CannotScore(ValueError):
    """The customer or the date cannot be scored (HTTP 422): no purchase before
    the as-of date, or nothing stored for a cutoff at or before it."""


def parse_as_of(text: str | None) -> date | None:
    """``YYYY-MM-DD`` or nothing; a ValueError that says what was expected."""
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"as_of must be a date as YYYY-MM-DD, e.g. 2025-01-01; got {text!r}") from None


def score_customer(conn: duckdb.DuckDBPyConnection, customer_id: str, as_of: date | None,
                   models: Models, settings: Settings) -> dict:
    """The customer's churn probability, risk level, reasons, LTV with its interval,
    value segment, segment and activity at ``as_of`` (default: the day after the
    log's newest event), with the models that answered."""
    events, day_after_last = conn.execute(read_sql(__file__, "customer_events.sql"),
                                          {"customer": customer_id}).fetchone()
    if not events:
        raise UnknownCustomer(f"Customer {customer_id!r} is not in the transaction log.")
    as_of = as_of or day_after_last
    if as_of > day_after_last:
        raise CannotScore(f"as_of {as_of} is after the log's newest event: the latest date this "
                          f"log supports is {day_after_last}.")
    cutoff, cuts, population = _reference_run(conn, as_of)
    fit_cutoff, fit = btyd_fit(conn, as_of) or (None, None)
    if fit is None:
        raise CannotScore(f"No BTYD fit is stored for a cutoff at or before {as_of}: materialize "
                          "customer_features for that range.")
    frame = customer_features(conn, customer_id, as_of, fit, settings.churn_window_days,
                              settings.ltv_horizon_days)
    if frame.empty:
        raise CannotScore(f"Customer {customer_id!r} made no purchase before {as_of}: there is "
                          "nothing to score at that date.")
    serving = models.current(conn)
    churn, ltv = serving["churn"].model, serving["ltv"].model
    # rule and BTYD reasons rank the customer against the scored population's quantiles
    scores = score_frame(frame, as_of, churn, ltv, settings.risk_thresholds, population)
    value_segments(scores, settings.value_segments, cuts)
    scores["segment"] = segments(scores, frame["tenure_days"].to_numpy(float), settings)
    row = scores.iloc[0]
    recency = float(frame["recency_days"].iloc[0])
    return {
        "customer_id": customer_id,
        "as_of": as_of.isoformat(),
        "churn_probability": float(row["churn_probability"]),
        "risk_level": row["risk_level"],
        "reasons": [r for r in (row["reason_1"], row["reason_2"], row["reason_3"]) if r is not None],
        "predicted_ltv": float(row["predicted_ltv"]),
        "ltv_interval": {"lower": float(row["ltv_lower"]), "upper": float(row["ltv_upper"])},
        "value_segment": row["value_segment"],
        "segment": row["segment"],
        "active": settings.active_days == 0 or recency <= settings.active_days,
        "days_since_last_purchase": int(recency),
        "models": {task: s.describe() for task, s in serving.items()},
        "reference_cutoff": cutoff.isoformat(),
        "btyd_fit_cutoff": fit_cutoff.isoformat(),
    }


def _reference_run(conn, as_of: date) -> tuple[date, list[float], dict]:
    try:
        row = conn.execute(read_sql(__file__, "reference_run.sql"), {"as_of": as_of}).fetchone()
    except duckdb.CatalogException:  # nothing was ever scored
        row = None
    if row is None or row[1] is None or row[2] is None:
        raise CannotScore(f"No cutoff at or before {as_of} has been scored, so there are no "
                          "value-segment cut points to place a customer with: run "
                          "`dg launch --job scoring_job` (or score an earlier cutoff).")
    return row[0], json.loads(row[1]), json.loads(row[2])


def to_json(payload: dict) -> str:
    return json.dumps(payload, indent=2, default=_plain)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
