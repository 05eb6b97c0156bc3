-- One page of the active customers' features at a cutoff, in customer order:
-- at most $rows customers after $after (NULL: from the first).
SELECT *
FROM customer_features
WHERE cutoff_date = $cutoff::DATE
  AND ($active_days::INTEGER = 0 OR recency_days <= $active_days::INTEGER)
  AND ($after::VARCHAR IS NULL OR customer_id > $after::VARCHAR)
ORDER BY customer_id
LIMIT $rows::BIGINT
