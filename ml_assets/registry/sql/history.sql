SELECT model_name, alias, from_version, to_version, moved_at, moved_by, run_id, reason
FROM alias_history
WHERE $model_name IS NULL OR model_name = $model_name
ORDER BY rowid
