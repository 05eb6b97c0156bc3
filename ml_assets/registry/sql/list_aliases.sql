SELECT model_name, alias, version, updated_at FROM model_aliases ORDER BY model_name, alias
