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
    churn_model_version INTEGER,
    ltv_model_version INTEGER,
    scored_at TIMESTAMP,
    run_id VARCHAR
);
