-- An independent, deliberately plain computation of the features for one
-- cutoff and a list of customers (NULL: every customer), straight from the
-- transactions before the cutoff. The customer_features_match_reference check
-- and the tests compare the one-pass features.sql against it; the bench times
-- the one pass against this run once per cutoff.
WITH tx AS (
    SELECT customer_id, order_ts::DATE AS day, amount
    FROM transactions
    WHERE order_ts < $cutoff::DATE::TIMESTAMP
      AND ($customers::VARCHAR[] IS NULL
           OR customer_id IN (SELECT unnest($customers::VARCHAR[])))
),
purchase_days AS (
    SELECT customer_id, day, sum(amount) AS day_gross
    FROM tx WHERE amount > 0 GROUP BY customer_id, day
),
gaps AS (
    SELECT customer_id, day - lag(day) OVER (PARTITION BY customer_id ORDER BY day) AS gap
    FROM purchase_days
),
gap_stats AS (
    SELECT customer_id, avg(gap) AS gap_mean, stddev_pop(gap) AS gap_std, max(gap) AS gap_max
    FROM gaps GROUP BY customer_id
),
days AS (
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day,
           arg_min(day_gross, day) AS first_day_gross, count(*) AS n_days,
           count(*) FILTER (WHERE day >= $cutoff::DATE - 90) AS n_days_90,
           count(*) FILTER (WHERE day >= $cutoff::DATE - 365) AS n_days_365,
           count(*) FILTER (WHERE month(day) IN (11, 12)) AS n_holiday_days,
           count(*) FILTER (WHERE day >= $cutoff::DATE - 365
                              AND day < $cutoff::DATE - 275) AS n_days_last_year_window
    FROM purchase_days GROUP BY customer_id
),
totals AS (
    SELECT
        customer_id,
        count(*) FILTER (WHERE amount > 0) AS orders,
        count(*) FILTER (WHERE amount < 0) AS refunds,
        sum(amount) FILTER (WHERE amount > 0) AS gross,
        coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS refunded,
        stddev_pop(amount) FILTER (WHERE amount > 0) AS std_order,
        max(amount) AS max_order,
        count(*) FILTER (WHERE amount > 0 AND day >= $cutoff::DATE - 30) AS o30,
        count(*) FILTER (WHERE amount > 0 AND day >= $cutoff::DATE - 90) AS o90,
        count(*) FILTER (WHERE amount > 0 AND day >= $cutoff::DATE - 180) AS o180,
        count(*) FILTER (WHERE amount > 0 AND day >= $cutoff::DATE - 365) AS o365,
        coalesce(sum(amount) FILTER (WHERE day >= $cutoff::DATE - 30), 0) AS s30,
        coalesce(sum(amount) FILTER (WHERE day >= $cutoff::DATE - 90), 0) AS s90,
        coalesce(sum(amount) FILTER (WHERE day >= $cutoff::DATE - 180), 0) AS s180,
        coalesce(sum(amount) FILTER (WHERE day >= $cutoff::DATE - 365), 0) AS s365,
        coalesce(sum(amount) FILTER (WHERE amount > 0 AND day >= $cutoff::DATE - 90), 0) AS g90,
        coalesce(sum(amount) FILTER (WHERE amount > 0 AND day >= $cutoff::DATE - 365), 0) AS g365
    FROM tx GROUP BY customer_id
)
SELECT
    $cutoff::DATE AS cutoff_date,
    t.customer_id,
    ($cutoff::DATE - d.last_day)::DOUBLE AS recency_days,
    ($cutoff::DATE - d.first_day)::DOUBLE AS tenure_days,
    t.orders::DOUBLE AS orders_total,
    d.n_days::DOUBLE AS purchase_days,
    t.orders * 30.0 / ($cutoff::DATE - d.first_day) AS orders_per_30d,
    t.gross AS gross_spend,
    t.gross - t.refunded AS net_spend,
    t.gross / t.orders AS avg_order_value,
    t.std_order AS std_order_value,
    t.max_order AS max_order_value,
    d.first_day_gross AS first_day_spend,
    t.refunds::DOUBLE AS refunds_total,
    t.refunded AS refund_amount,
    t.refunded / t.gross AS refund_share,
    t.o30::DOUBLE AS orders_30d, t.o90::DOUBLE AS orders_90d,
    t.o180::DOUBLE AS orders_180d, t.o365::DOUBLE AS orders_365d,
    t.s30 AS spend_30d, t.s90 AS spend_90d, t.s180 AS spend_180d, t.s365 AS spend_365d,
    d.n_days_90::DOUBLE AS purchase_days_90d,
    d.n_days_365::DOUBLE AS purchase_days_365d,
    g.gap_mean,
    g.gap_std,
    g.gap_max::DOUBLE AS gap_max,
    ($cutoff::DATE - d.last_day) / g.gap_mean AS recency_over_gap,
    t.o90 / nullif(t.o365 * 90.0 / 365.0, 0) AS orders_trend,
    t.g90 / nullif(t.g365 * 90.0 / 365.0, 0) AS spend_trend,
    (d.n_days - 1)::DOUBLE AS btyd_frequency,
    (d.last_day - d.first_day)::DOUBLE AS btyd_recency,
    ($cutoff::DATE - d.first_day)::DOUBLE AS btyd_T,
    CASE WHEN d.n_days > 1 THEN (t.gross - d.first_day_gross) / (d.n_days - 1) ELSE 0 END AS btyd_monetary,
    month($cutoff::DATE)::DOUBLE AS cutoff_month,
    month(d.first_day)::DOUBLE AS first_purchase_month,
    d.n_holiday_days::DOUBLE / d.n_days AS holiday_share,
    d.n_days_last_year_window::DOUBLE AS purchase_days_last_year_window
FROM totals t
JOIN days d USING (customer_id)
LEFT JOIN gap_stats g USING (customer_id)
ORDER BY t.customer_id
