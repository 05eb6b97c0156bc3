UPDATE shadow_versions SET status = $status, left_at = $at, left_reason = $reason
WHERE task = $task AND model_name = $model_name AND version = $version AND status = 'shadow'
