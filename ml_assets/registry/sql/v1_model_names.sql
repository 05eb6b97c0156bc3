-- Every model name a schema-1 registry mentions, in any of its tables.
SELECT model_name FROM model_versions
UNION SELECT model_name FROM model_aliases
UNION SELECT model_name FROM alias_history
