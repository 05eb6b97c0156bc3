SELECT
    strftime(cutoff_date, '%Y-%m-%d') AS cutoff_date,
    count(*) AS customers,
    median(recency_days) AS median_recency_days,
    avg(orders_365d) AS mean_orders_365d,
    avg(spend_365d) AS mean_spend_365d
FROM staged_features
GROUP BY cutoff_date
ORDER BY cutoff_date
