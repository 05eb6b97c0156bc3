INSERT INTO model_aliases (model_name, alias, version, updated_at)
VALUES ($model_name, $alias, $version, $moved_at)
ON CONFLICT (model_name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at
