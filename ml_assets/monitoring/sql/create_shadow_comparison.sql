-- Champion vs shadow on matured served cutoffs; rebuilt whole each run.
CREATE TABLE IF NOT EXISTS shadow_comparison (
    cutoff_date DATE,
    task VARCHAR,
    champion_model VARCHAR,      -- the version that served the cutoff
    champion_version INTEGER,
    shadow_model VARCHAR,
    shadow_version INTEGER,
    customers BIGINT,            -- scored by both, labels mature
    metric VARCHAR,              -- the primary metric: roc_auc | normalized_gini
    champion_value DOUBLE,
    shadow_value DOUBLE,
    difference DOUBLE,           -- shadow minus champion
    ci_low DOUBLE,
    ci_high DOUBLE,
    p_value DOUBLE,              -- one-sided: the shadow is no better
    method VARCHAR,
    shadow_wins BOOLEAN,
    champion_roc_auc DOUBLE, shadow_roc_auc DOUBLE,
    champion_ece DOUBLE, shadow_ece DOUBLE,
    champion_brier DOUBLE, shadow_brier DOUBLE,
    champion_rmse DOUBLE, shadow_rmse DOUBLE,
    champion_normalized_gini DOUBLE, shadow_normalized_gini DOUBLE,
    champion_total_error_pct DOUBLE, shadow_total_error_pct DOUBLE,
    champion_coverage DOUBLE, shadow_coverage DOUBLE,
    computed_at TIMESTAMP,
    run_id VARCHAR
);
