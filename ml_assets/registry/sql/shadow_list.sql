-- The versions of a task in shadow now, oldest stay first.
SELECT s.task, s.model_name, s.version, s.entered_at, s.entered_reason, v.holdout_cutoff,
       v.family
FROM shadow_versions s
JOIN model_versions v USING (model_name, version)
WHERE s.task = $task AND s.status = 'shadow'
ORDER BY s.entered_at, s.model_name, s.version
