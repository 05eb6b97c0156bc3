SELECT *
FROM customer_features
WHERE cutoff_date = $cutoff::DATE
  AND ($active_days::INTEGER = 0 OR recency_days <= $active_days::INTEGER)
ORDER BY customer_id
