CREATE TABLE IF NOT EXISTS promotion_decisions (
    decision_id VARCHAR,
    decided_at TIMESTAMP,
    task VARCHAR,
    model_name VARCHAR,          -- the candidate
    candidate_version INTEGER,
    champion_model VARCHAR,      -- the champion before the decision
    champion_version INTEGER,
    outcome VARCHAR,             -- candidate promoted | baseline promoted | champion kept | refused | no model passes
    promoted_model VARCHAR,      -- what became champion (NULL when the champion did not move)
    promoted_version INTEGER,
    compared_with VARCHAR,
    evaluation_id VARCHAR,
    holdout_cutoff DATE,
    primary_metric VARCHAR,
    candidate_value DOUBLE,
    reference_value DOUBLE,
    promoted BOOLEAN,            -- the champion alias moved
    reasons VARCHAR,
    tests VARCHAR,
    trigger VARCHAR,
    run_id VARCHAR
);
-- decisions recorded before baselines could be champion lack these columns
ALTER TABLE promotion_decisions ADD COLUMN IF NOT EXISTS champion_model VARCHAR;
ALTER TABLE promotion_decisions ADD COLUMN IF NOT EXISTS outcome VARCHAR;
ALTER TABLE promotion_decisions ADD COLUMN IF NOT EXISTS promoted_model VARCHAR;
ALTER TABLE promotion_decisions ADD COLUMN IF NOT EXISTS promoted_version INTEGER;
-- ... and were all a candidate judged against the same model's champion
UPDATE promotion_decisions SET
    outcome = CASE WHEN promoted THEN 'candidate promoted' ELSE 'champion kept' END,
    promoted_model = CASE WHEN promoted THEN model_name END,
    promoted_version = CASE WHEN promoted THEN candidate_version END,
    champion_model = CASE WHEN champion_version IS NOT NULL THEN model_name END
WHERE outcome IS NULL;
