SELECT count(*) > 0 FROM information_schema.columns
WHERE table_name = 'model_aliases' AND column_name = 'task'
