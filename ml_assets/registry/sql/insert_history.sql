INSERT INTO alias_history (model_name, alias, from_version, to_version, moved_at, moved_by, run_id, reason)
VALUES ($model_name, $alias, $from_version, $to_version, $moved_at, $moved_by, $run_id, $reason)
