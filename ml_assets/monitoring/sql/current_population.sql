-- The scoring population at a cutoff: every scored customer's features and
-- the scores that were served.
SELECT f.*, s.churn_probability, s.predicted_ltv
FROM customer_scores s
JOIN customer_features f USING (cutoff_date, customer_id)
WHERE s.cutoff_date = $cutoff::DATE
ORDER BY s.customer_id
