-- Every version of one model (or of all models when $model_name is NULL),
-- with the aliases that point at it (as task:alias).
SELECT
    v.*,
    coalesce(
        (SELECT string_agg(a.task || ':' || a.alias, ',' ORDER BY a.task, a.alias)
         FROM model_aliases a
         WHERE a.model_name = v.model_name AND a.version = v.version),
        ''
    ) AS aliases
FROM model_versions v
WHERE $model_name IS NULL OR v.model_name = $model_name
ORDER BY v.task, v.model_name, v.version
