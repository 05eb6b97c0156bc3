-- model_performance, newest cutoff first (one small row per scored cutoff).
SELECT *
FROM model_performance
ORDER BY cutoff_date DESC
