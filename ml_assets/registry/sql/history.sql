SELECT task, alias, from_model, from_version, to_model, to_version, moved_at, moved_by, run_id, reason
FROM alias_history
WHERE ($task IS NULL OR task = $task)
  AND ($model_name IS NULL OR to_model = $model_name OR from_model = $model_name)
ORDER BY rowid
