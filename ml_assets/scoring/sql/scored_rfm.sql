-- Recency, frequency and value of the customers customer_scores scored at a
-- cutoff: the population the RFM reasons rank on, as for customer_scores.
SELECT f.recency_days, f.orders_total, f.avg_order_value
FROM customer_scores s
JOIN customer_features f USING (cutoff_date, customer_id)
WHERE s.cutoff_date = $cutoff::DATE
