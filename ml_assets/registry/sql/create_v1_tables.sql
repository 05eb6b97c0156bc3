-- Registry schema 1's tables, for a warehouse that holds only some of them.
CREATE TABLE IF NOT EXISTS model_versions (
    model_name VARCHAR NOT NULL, version INTEGER NOT NULL, created_at TIMESTAMP NOT NULL,
    artifact_path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, status VARCHAR NOT NULL,
    training_cutoffs VARCHAR, holdout_cutoff DATE, features VARCHAR, hyperparameters VARCHAR,
    code_version VARCHAR, data_fingerprint VARCHAR, metrics VARCHAR, run_id VARCHAR,
    PRIMARY KEY (model_name, version)
);
CREATE TABLE IF NOT EXISTS model_aliases (
    model_name VARCHAR NOT NULL, alias VARCHAR NOT NULL, version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL, PRIMARY KEY (model_name, alias)
);
CREATE TABLE IF NOT EXISTS alias_history (
    model_name VARCHAR NOT NULL, alias VARCHAR NOT NULL, from_version INTEGER,
    to_version INTEGER NOT NULL, moved_at TIMESTAMP NOT NULL, moved_by VARCHAR, run_id VARCHAR,
    reason VARCHAR
);
