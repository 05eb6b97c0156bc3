CREATE TABLE IF NOT EXISTS customer_scores (
    cutoff_date DATE,
    customer_id VARCHAR,
    churn_probability DOUBLE,
    risk_level VARCHAR,
    reason_1 VARCHAR,
    reason_2 VARCHAR,
    reason_3 VARCHAR,
    predicted_ltv DOUBLE,
    ltv_lower DOUBLE,
    ltv_upper DOUBLE,
    value_segment VARCHAR,
    segment VARCHAR,             -- new, at-risk high value, ... (ml_assets/scoring/segments.py)
    churn_model_name VARCHAR,
    churn_model_version INTEGER,
    ltv_model_name VARCHAR,
    ltv_model_version INTEGER,
    backfilled BOOLEAN,          -- written after the fact for a past cutoff, never served
    scored_at TIMESTAMP,
    run_id VARCHAR
);
-- tables written before any model family could be champion lack these columns
ALTER TABLE customer_scores ADD COLUMN IF NOT EXISTS churn_model_name VARCHAR;
ALTER TABLE customer_scores ADD COLUMN IF NOT EXISTS ltv_model_name VARCHAR;
ALTER TABLE customer_scores ADD COLUMN IF NOT EXISTS backfilled BOOLEAN;
ALTER TABLE customer_scores ADD COLUMN IF NOT EXISTS segment VARCHAR;
-- ... and were scored by the only models there were then
UPDATE customer_scores SET churn_model_name = coalesce(churn_model_name, 'churn_model'),
    ltv_model_name = coalesce(ltv_model_name, 'ltv_model')
WHERE churn_model_name IS NULL OR ltv_model_name IS NULL;
CREATE TABLE IF NOT EXISTS scoring_runs (
    cutoff_date DATE,
    run_id VARCHAR,
    scored_at TIMESTAMP,
    customers BIGINT,
    churn_model_name VARCHAR,
    churn_model_version INTEGER,
    ltv_model_name VARCHAR,
    ltv_model_version INTEGER,
    backfilled BOOLEAN,
    btyd_fit VARCHAR,            -- JSON: the BG/NBD (Gamma-Gamma) fit at the cutoff a BTYD champion used
    value_cuts VARCHAR,          -- JSON: the predicted-LTV cut points of the value segments
    rfm_reference VARCHAR        -- JSON: quantiles of recency, frequency, value the RFM reasons rank on
);
ALTER TABLE scoring_runs ADD COLUMN IF NOT EXISTS value_cuts VARCHAR;
ALTER TABLE scoring_runs ADD COLUMN IF NOT EXISTS rfm_reference VARCHAR;
CREATE TABLE IF NOT EXISTS segment_summary (
    cutoff_date DATE,
    segment VARCHAR,
    customers BIGINT,
    share DOUBLE,                 -- of the cutoff's scored customers
    predicted_ltv DOUBLE,         -- total over the segment
    mean_predicted_ltv DOUBLE,
    mean_churn_probability DOUBLE,
    value_at_risk DOUBLE,         -- sum of predicted LTV x churn probability
    run_id VARCHAR
);
