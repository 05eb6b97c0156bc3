WITH last AS (SELECT max(order_ts) AS last_event FROM transactions)
SELECT
    count(*) FILTER (WHERE (NOT churn_label_mature AND churned IS NOT NULL)
                        OR (NOT ltv_label_mature AND future_spend IS NOT NULL)),
    count(*) FILTER (
        WHERE churn_label_mature IS DISTINCT FROM
              ((cutoff_date + $churn_days::INTEGER)::TIMESTAMP <= last_event)
           OR ltv_label_mature IS DISTINCT FROM
              ((cutoff_date + $ltv_days::INTEGER)::TIMESTAMP <= last_event)
    ),
    count(*)
FROM training_snapshots, last
