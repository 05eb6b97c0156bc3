INSERT INTO alias_history (task, alias, from_model, from_version, to_model, to_version, moved_at, moved_by, run_id, reason)
VALUES ($task, $alias, $from_model, $from_version, $to_model, $to_version, $moved_at, $moved_by, $run_id, $reason)
