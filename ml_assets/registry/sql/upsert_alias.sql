INSERT INTO model_aliases (task, alias, model_name, version, updated_at)
VALUES ($task, $alias, $model_name, $version, $moved_at)
ON CONFLICT (task, alias) DO UPDATE SET
    model_name = excluded.model_name, version = excluded.version, updated_at = excluded.updated_at
