-- The newest scored cutoff at or before $as_of, and the value-segment cut
-- points of the run whose scores that cutoff holds now (identity, not "the
-- newest row": scoring_runs keeps every run).
SELECT r.cutoff_date, r.value_cuts
FROM scoring_runs r
JOIN (SELECT cutoff_date, any_value(run_id) AS run_id FROM customer_scores
      WHERE cutoff_date <= $as_of::DATE GROUP BY cutoff_date) s
  USING (cutoff_date, run_id)
ORDER BY r.cutoff_date DESC
LIMIT 1
