-- Registry schema 1 (aliases per model, learned models only) to schema 2
-- (aliases per task, models of any family). Runs inside one transaction.
-- Schema 1 knew two models: churn_model (task churn) and ltv_model (task ltv).
CREATE TABLE model_versions_v2 AS
SELECT model_name, version,
       CASE model_name WHEN 'churn_model' THEN 'churn' WHEN 'ltv_model' THEN 'ltv' END AS task,
       'lightgbm' AS family,
       created_at, artifact_path, sha256, status, training_cutoffs, holdout_cutoff, features,
       hyperparameters, code_version, data_fingerprint, metrics, run_id
FROM model_versions;
CREATE TABLE model_aliases_v2 AS
SELECT CASE model_name WHEN 'churn_model' THEN 'churn' WHEN 'ltv_model' THEN 'ltv' END AS task,
       alias, model_name, version, updated_at
FROM model_aliases;
CREATE TABLE alias_history_v2 AS
SELECT CASE model_name WHEN 'churn_model' THEN 'churn' WHEN 'ltv_model' THEN 'ltv' END AS task,
       alias,
       CASE WHEN from_version IS NULL THEN NULL ELSE model_name END AS from_model, from_version,
       model_name AS to_model, to_version, moved_at, moved_by, run_id, reason
FROM alias_history
ORDER BY rowid;
DROP TABLE model_versions;
DROP TABLE model_aliases;
DROP TABLE alias_history;
