-- The features of exactly the customers customer_scores scored at a cutoff.
SELECT f.*
FROM customer_scores s
JOIN customer_features f USING (cutoff_date, customer_id)
WHERE s.cutoff_date = $cutoff::DATE
ORDER BY f.customer_id
