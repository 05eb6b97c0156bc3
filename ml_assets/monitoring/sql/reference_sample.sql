-- A model's training population: active customers at its training cutoffs,
-- at most $rows of them, picked by a hash of the key so the same rows come
-- back every time. The rows are picked on the narrow keys, then read whole.
WITH sampled AS (
    SELECT cutoff_date, customer_id
    FROM customer_features
    WHERE cutoff_date IN (SELECT unnest($cutoffs::DATE[]))
      AND ($active_days::INTEGER = 0 OR recency_days <= $active_days::INTEGER)
    ORDER BY hash(customer_id, cutoff_date), customer_id, cutoff_date
    LIMIT $rows
)
SELECT f.*
FROM sampled
JOIN customer_features f USING (cutoff_date, customer_id)
ORDER BY hash(f.customer_id, f.cutoff_date), f.customer_id, f.cutoff_date
