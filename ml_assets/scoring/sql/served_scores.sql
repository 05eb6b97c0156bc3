-- The rows customer_scores holds for one cutoff (what was served), in customer order.
SELECT * FROM customer_scores WHERE cutoff_date = $cutoff::DATE ORDER BY customer_id
