-- Live versions of one model the retention policy may archive: not pointed at
-- by any alias, never champion, not in shadow, and not among the newest $keep versions.
WITH kept AS (
    SELECT version FROM model_aliases WHERE model_name = $model_name
    UNION
    SELECT to_version FROM alias_history WHERE to_model = $model_name AND alias = 'champion'
    UNION
    SELECT from_version FROM alias_history
    WHERE from_model = $model_name AND alias = 'champion' AND from_version IS NOT NULL
    UNION
    SELECT version FROM shadow_versions WHERE model_name = $model_name AND status = 'shadow'
    UNION
    (SELECT version FROM model_versions WHERE model_name = $model_name ORDER BY version DESC LIMIT $keep)
)
SELECT version, artifact_path FROM model_versions
WHERE model_name = $model_name
  AND status = 'active'
  AND version NOT IN (SELECT version FROM kept)
ORDER BY version
