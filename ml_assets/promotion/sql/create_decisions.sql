CREATE TABLE IF NOT EXISTS promotion_decisions (
    decision_id VARCHAR,
    decided_at TIMESTAMP,
    task VARCHAR,
    model_name VARCHAR,
    candidate_version INTEGER,
    champion_version INTEGER,
    compared_with VARCHAR,
    evaluation_id VARCHAR,
    holdout_cutoff DATE,
    primary_metric VARCHAR,
    candidate_value DOUBLE,
    reference_value DOUBLE,
    promoted BOOLEAN,
    reasons VARCHAR,
    tests VARCHAR,
    trigger VARCHAR,
    run_id VARCHAR
);
