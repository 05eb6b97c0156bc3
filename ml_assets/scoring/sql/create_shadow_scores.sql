-- Shadow scores: per cutoff, the champion's served rows (role 'champion') and,
-- for every version in shadow, the same customers scored with it in place of
-- its task's champion (role 'shadow', shadow_task the task it replaces; the
-- other task's columns are the champion's).
CREATE TABLE IF NOT EXISTS shadow_scores (
    cutoff_date DATE,
    customer_id VARCHAR,
    role VARCHAR,                -- 'champion' | 'shadow'
    shadow_task VARCHAR,         -- NULL for the champion; 'churn' | 'ltv' for a shadow
    churn_probability DOUBLE,
    risk_level VARCHAR,
    reason_1 VARCHAR,
    reason_2 VARCHAR,
    reason_3 VARCHAR,
    predicted_ltv DOUBLE,
    ltv_lower DOUBLE,
    ltv_upper DOUBLE,
    value_segment VARCHAR,
    segment VARCHAR,
    churn_model_name VARCHAR,
    churn_model_version INTEGER,
    ltv_model_name VARCHAR,
    ltv_model_version INTEGER,
    backfilled BOOLEAN,
    scored_at TIMESTAMP,
    run_id VARCHAR
);
ALTER TABLE shadow_scores ADD COLUMN IF NOT EXISTS segment VARCHAR;
