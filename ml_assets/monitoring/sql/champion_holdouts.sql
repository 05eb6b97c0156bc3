-- Each task's champion and the newest cutoff whose labels it has seen (its
-- holdout; the newest training cutoff for a version registered without one).
SELECT a.task, a.model_name, a.version, v.holdout_cutoff, v.training_cutoffs
FROM model_aliases a
JOIN model_versions v USING (model_name, version)
WHERE a.alias = 'champion'
ORDER BY a.task
