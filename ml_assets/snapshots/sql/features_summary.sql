SELECT
    strftime(cutoff_date, '%Y-%m-%d') AS cutoff_date,
    count(*) AS customers,
    median(recency_days) AS median_recency_days,
    avg(orders_365d) AS mean_orders_365d,
    avg(spend_365d) AS mean_spend_365d
FROM customer_features
WHERE cutoff_date IN (SELECT unnest($cutoffs::DATE[]))
GROUP BY cutoff_date
ORDER BY cutoff_date
