-- Cutoffs after $after whose label window of $days days closed by $newest
-- (the newest loaded event), newest first, with the number of active
-- customers whose labels a retrain would learn from. One column is read.
SELECT cutoff_date, count(*) AS labels
FROM customer_features
WHERE cutoff_date > $after::DATE
  AND cutoff_date + to_days($days::INTEGER) <= $newest::TIMESTAMP
  AND ($active_days::INTEGER = 0 OR recency_days <= $active_days::INTEGER)
GROUP BY cutoff_date
ORDER BY cutoff_date DESC
