SELECT
    strftime(cutoff_date, '%Y-%m-%d') AS cutoff_date,
    count(*) AS customers,
    bool_and(churn_label_mature) AS churn_mature,
    avg(churned::DOUBLE) AS churn_rate,
    bool_and(ltv_label_mature) AS ltv_mature,
    avg(future_spend) AS mean_future_spend
FROM training_snapshots
WHERE cutoff_date IN (SELECT unnest($cutoffs::DATE[]))
GROUP BY cutoff_date
ORDER BY cutoff_date
