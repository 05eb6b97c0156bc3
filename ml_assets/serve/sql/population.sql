-- The active customers' features at the reference cutoff but $customer: the
-- population a rule or BTYD champion's reasons rank a customer against.
SELECT *
FROM customer_features
WHERE cutoff_date = $cutoff::DATE
  AND ($active_days::INTEGER = 0 OR recency_days <= $active_days::INTEGER)
  AND customer_id <> $customer::VARCHAR
ORDER BY customer_id
