-- Features joined to mature labels for the requested cutoffs, active customers only;
-- with $per_cutoff > 0, at most that many customers per cutoff: a fixed sample
-- (ordered by a hash of the id), the same whichever other cutoffs are loaded.
-- The sample is drawn on the narrow keys first and only its rows are read whole:
-- ranking every eligible row with all its columns sorts (and spills) the lot.
WITH eligible AS (
    SELECT f.cutoff_date, f.customer_id
    FROM customer_features f
    JOIN training_snapshots s USING (cutoff_date, customer_id)
    WHERE f.cutoff_date IN (SELECT unnest($cutoffs::DATE[]))
      AND ($active_days::INTEGER = 0 OR f.recency_days <= $active_days::INTEGER)
      AND CASE WHEN $label = 'churn' THEN s.churn_label_mature ELSE s.ltv_label_mature END
    QUALIFY $per_cutoff::BIGINT = 0
         OR row_number() OVER (
                PARTITION BY f.cutoff_date ORDER BY hash(f.customer_id), f.customer_id
            ) <= $per_cutoff::BIGINT
)
SELECT f.*, s.churned, s.future_spend
FROM eligible e
JOIN customer_features f USING (cutoff_date, customer_id)
JOIN training_snapshots s USING (cutoff_date, customer_id)
ORDER BY f.cutoff_date, f.customer_id
