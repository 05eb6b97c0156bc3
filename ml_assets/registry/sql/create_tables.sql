-- The registry: one row per model version (of any family: learned LightGBM,
-- plain LightGBM, BTYD, rule), the per-task aliases that point at them, and
-- every alias move ever made. Idempotent.
CREATE TABLE IF NOT EXISTS model_versions (
    model_name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    task VARCHAR NOT NULL,             -- 'churn' | 'ltv'
    family VARCHAR NOT NULL,           -- 'lightgbm' | 'plain_lightgbm' | 'btyd' | 'rule'
    created_at TIMESTAMP NOT NULL,
    artifact_path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    status VARCHAR NOT NULL,           -- 'active' | 'archived'
    training_cutoffs VARCHAR,          -- JSON list of ISO dates
    holdout_cutoff DATE,
    features VARCHAR,                  -- JSON list
    hyperparameters VARCHAR,           -- JSON object
    code_version VARCHAR,
    data_fingerprint VARCHAR,
    metrics VARCHAR,                   -- JSON object
    run_id VARCHAR,
    PRIMARY KEY (model_name, version)
);

-- One champion and one challenger per task; the model may be of any family.
CREATE TABLE IF NOT EXISTS model_aliases (
    task VARCHAR NOT NULL,
    alias VARCHAR NOT NULL,
    model_name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (task, alias)
);

CREATE TABLE IF NOT EXISTS alias_history (
    task VARCHAR NOT NULL,
    alias VARCHAR NOT NULL,
    from_model VARCHAR,
    from_version INTEGER,
    to_model VARCHAR NOT NULL,
    to_version INTEGER NOT NULL,
    moved_at TIMESTAMP NOT NULL,
    moved_by VARCHAR,
    run_id VARCHAR,
    reason VARCHAR
);

-- Versions scored in shadow beside their task's champion: one row per stay,
-- from entering (a lost or not yet eligible decision) to leaving (promoted,
-- retired for a newer shadow, or archived).
CREATE TABLE IF NOT EXISTS shadow_versions (
    task VARCHAR NOT NULL,
    model_name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    status VARCHAR NOT NULL,           -- 'shadow' | 'promoted' | 'retired'
    entered_at TIMESTAMP NOT NULL,
    entered_reason VARCHAR,
    decision_id VARCHAR,
    left_at TIMESTAMP,
    left_reason VARCHAR
);
