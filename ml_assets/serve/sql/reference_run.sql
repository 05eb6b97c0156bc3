-- The newest scored cutoff at or before $as_of, and the value-segment cut
-- points and RFM population quantiles of the run whose scores that cutoff holds now (identity, not "the
-- newest row": scoring_runs keeps every run).
WITH held AS (
    SELECT cutoff_date, run_id FROM customer_scores
    WHERE cutoff_date = (SELECT max(cutoff_date) FROM customer_scores
                         WHERE cutoff_date <= $as_of::DATE)
    LIMIT 1
)
SELECT r.cutoff_date, r.value_cuts, r.rfm_reference
FROM scoring_runs r JOIN held USING (cutoff_date, run_id)
