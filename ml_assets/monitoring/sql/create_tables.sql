-- Monitoring tables. feature_drift and feature_drift_summary keep one set of
-- rows per run (a history); model_performance is rebuilt whole each run.
CREATE TABLE IF NOT EXISTS feature_drift (
    run_id VARCHAR,
    computed_at TIMESTAMP,
    cutoff_date DATE,
    model_name VARCHAR,
    model_version INTEGER,
    reference_cutoffs VARCHAR,
    role VARCHAR,                 -- 'feature' | 'prediction' | 'cutoff' (not a customer trait)
    feature VARCHAR,
    kind VARCHAR,                 -- 'numeric' | 'categorical'
    n_reference BIGINT,
    n_current BIGINT,
    missing_reference DOUBLE,
    missing_current DOUBLE,
    missing_change DOUBLE,
    psi DOUBLE,
    ks_statistic DOUBLE,
    ks_pvalue DOUBLE,
    chi2_statistic DOUBLE,
    chi2_pvalue DOUBLE,
    wasserstein DOUBLE,
    mean_reference DOUBLE,
    mean_current DOUBLE,
    drifted BOOLEAN,
    note VARCHAR
);
CREATE TABLE IF NOT EXISTS feature_drift_summary (
    run_id VARCHAR,
    computed_at TIMESTAMP,
    cutoff_date DATE,
    churn_model_version INTEGER,
    ltv_model_version INTEGER,
    reference_rows BIGINT,
    current_rows BIGINT,
    features INTEGER,
    drifted_features INTEGER,
    drift_share DOUBLE,
    worst_feature VARCHAR,
    max_psi DOUBLE,
    churn_prediction_psi DOUBLE,
    ltv_prediction_psi DOUBLE,
    psi_threshold DOUBLE,
    share_threshold DOUBLE,
    prediction_psi_threshold DOUBLE,
    dataset_drift BOOLEAN,
    reasons VARCHAR
);
-- champions of any family: their model names (summaries written before lack them)
ALTER TABLE feature_drift_summary ADD COLUMN IF NOT EXISTS churn_model_name VARCHAR;
ALTER TABLE feature_drift_summary ADD COLUMN IF NOT EXISTS ltv_model_name VARCHAR;
