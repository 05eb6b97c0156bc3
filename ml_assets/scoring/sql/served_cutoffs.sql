-- Which of $cutoffs already hold scores that were served (not backfilled).
SELECT DISTINCT cutoff_date FROM customer_scores
WHERE cutoff_date IN (SELECT unnest($cutoffs::DATE[]))
  AND NOT coalesce(backfilled, false)
ORDER BY 1
