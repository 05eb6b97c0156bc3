INSERT INTO model_versions (
    model_name, version, task, family, created_at, artifact_path, sha256, status, training_cutoffs,
    holdout_cutoff, features, hyperparameters, code_version, data_fingerprint, metrics, run_id
) VALUES (
    $model_name, $version, $task, $family, $created_at, $artifact_path, $sha256, 'active',
    $training_cutoffs, $holdout_cutoff, $features, $hyperparameters, $code_version,
    $data_fingerprint, $metrics, $run_id
)
