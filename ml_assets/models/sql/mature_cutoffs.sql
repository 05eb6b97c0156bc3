-- Cutoffs where every label of the kind is mature and features exist.
SELECT s.cutoff_date
FROM training_snapshots s
WHERE s.cutoff_date IN (SELECT DISTINCT cutoff_date FROM customer_features)
GROUP BY s.cutoff_date
HAVING bool_and(CASE WHEN $label = 'churn' THEN s.churn_label_mature ELSE s.ltv_label_mature END)
ORDER BY s.cutoff_date
