INSERT INTO shadow_versions (task, model_name, version, status, entered_at, entered_reason,
                             decision_id)
VALUES ($task, $model_name, $version, 'shadow', $at, $reason, $decision_id)
