"""A warehouse written before per-task champions keeps working: the decision and
score tables gain their new columns in place, and old rows read sensibly."""

import duckdb

from ml_assets.lib.warehouse import read_sql
from ml_assets.promotion import decision
from ml_assets.scoring import assets as scoring

OLD_DECISIONS = """CREATE TABLE promotion_decisions (
    decision_id VARCHAR, decided_at TIMESTAMP, task VARCHAR, model_name VARCHAR,
    candidate_version INTEGER, champion_version INTEGER, compared_with VARCHAR,
    evaluation_id VARCHAR, holdout_cutoff DATE, primary_metric VARCHAR, candidate_value DOUBLE,
    reference_value DOUBLE, promoted BOOLEAN, reasons VARCHAR, tests VARCHAR, trigger VARCHAR,
    run_id VARCHAR)"""
OLD_SCORES = """CREATE TABLE customer_scores (
    cutoff_date DATE, customer_id VARCHAR, churn_probability DOUBLE, risk_level VARCHAR,
    reason_1 VARCHAR, reason_2 VARCHAR, reason_3 VARCHAR, predicted_ltv DOUBLE, ltv_lower DOUBLE,
    ltv_upper DOUBLE, value_segment VARCHAR, churn_model_version INTEGER,
    ltv_model_version INTEGER, scored_at TIMESTAMP, run_id VARCHAR)"""


def test_old_decisions_and_scores_gain_the_new_columns_with_their_meaning():
    conn = duckdb.connect()
    conn.execute(OLD_DECISIONS)
    conn.execute("INSERT INTO promotion_decisions (task, model_name, candidate_version, "
                 "champion_version, promoted) VALUES ('churn', 'churn_model', 1, NULL, true), "
                 "('churn', 'churn_model', 2, 1, false)")
    conn.execute(OLD_SCORES)
    conn.execute("INSERT INTO customer_scores (cutoff_date, customer_id, churn_model_version) "
                 "VALUES ('2024-01-01', 'C1', 1)")
    conn.execute(read_sql(decision.__file__, "create_decisions.sql"))
    conn.execute(read_sql(scoring.__file__, "create_scores.sql"))
    rows = conn.execute("SELECT candidate_version, outcome, promoted_model, promoted_version, "
                        "champion_model FROM promotion_decisions ORDER BY 1").fetchall()
    assert rows == [(1, "candidate promoted", "churn_model", 1, None),
                    (2, "champion kept", None, None, "churn_model")]
    # old scores were served at the time: they are not backfills
    scores = conn.execute("SELECT churn_model_name, coalesce(backfilled, false) "
                          "FROM customer_scores").fetchall()
    assert scores == [("churn_model", False)]
    # running the scripts again changes nothing
    conn.execute(read_sql(decision.__file__, "create_decisions.sql"))
    assert conn.execute("SELECT count(*) FROM promotion_decisions").fetchone()[0] == 2
