CREATE TABLE IF NOT EXISTS holdout_predictions (
    evaluation_id VARCHAR,
    task VARCHAR,
    role VARCHAR,
    model_name VARCHAR,
    model_version INTEGER,
    cutoff_date DATE,
    customer_id VARCHAR,
    y_true DOUBLE,
    y_pred DOUBLE,
    y_lower DOUBLE,
    y_upper DOUBLE
);
CREATE TABLE IF NOT EXISTS evaluation_metrics (
    evaluation_id VARCHAR,
    evaluated_at TIMESTAMP,
    task VARCHAR,
    role VARCHAR,
    model_name VARCHAR,
    model_version INTEGER,
    cutoff_date DATE,
    metric VARCHAR,
    value DOUBLE
);
