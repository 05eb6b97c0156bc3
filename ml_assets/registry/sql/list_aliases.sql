SELECT task, alias, model_name, version, updated_at FROM model_aliases ORDER BY task, alias
