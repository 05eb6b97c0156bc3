-- The registry: one row per model version, the aliases that point at them,
-- and every alias move ever made. Idempotent.
CREATE TABLE IF NOT EXISTS model_versions (
    model_name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
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

CREATE TABLE IF NOT EXISTS model_aliases (
    model_name VARCHAR NOT NULL,
    alias VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (model_name, alias)
);

CREATE TABLE IF NOT EXISTS alias_history (
    model_name VARCHAR NOT NULL,
    alias VARCHAR NOT NULL,
    from_version INTEGER,
    to_version INTEGER NOT NULL,
    moved_at TIMESTAMP NOT NULL,
    moved_by VARCHAR,
    run_id VARCHAR,
    reason VARCHAR
);
