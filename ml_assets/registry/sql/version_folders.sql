-- Artifact paths of a model's live versions; sweep_orphans keeps only these.
SELECT artifact_path FROM model_versions WHERE model_name = ? AND status = 'active'
