-- Labels for the (cutoff, customer) pairs in temp table snapshot_pairs, from
-- events in [cutoff, cutoff + window) only (needs customer_state and
-- first_purchases). $lo and $hi (NULL: everyone) bound the pairs' customer
-- keys, so that a chunk of customers reads only its own part of customer_state.
-- A label is mature when its window ends on or before $last_event; an
-- immature label is NULL so that it cannot be trained on by mistake.
WITH pairs AS (
    SELECT p.cutoff_date, f.customer_key, f.customer_id
    FROM snapshot_pairs p
    JOIN first_purchases f USING (customer_key)
),
lookups AS (
    SELECT p.customer_key, p.cutoff_date, w.window_days, p.cutoff_date + w.window_days AS lookup_day
    FROM pairs p
    CROSS JOIN (VALUES (0), ($churn_days::INTEGER), ($ltv_days::INTEGER)) AS w(window_days)
),
states AS (
    SELECT l.customer_key, l.cutoff_date, l.window_days, s.orders, s.gross - s.refunded AS net
    FROM lookups l
    ASOF LEFT JOIN (SELECT * FROM customer_state
                    WHERE $lo::BIGINT IS NULL OR customer_key BETWEEN $lo::BIGINT AND $hi::BIGINT) s
        ON l.customer_key = s.customer_key AND l.lookup_day > s.day
),
per_customer AS (
    SELECT
        customer_key,
        cutoff_date,
        any_value(orders) FILTER (WHERE window_days = 0) AS orders_t,
        any_value(net) FILTER (WHERE window_days = 0) AS net_t,
        any_value(orders) FILTER (WHERE window_days = $churn_days::INTEGER) AS orders_churn,
        any_value(orders) FILTER (WHERE window_days = $ltv_days::INTEGER) AS orders_ltv,
        any_value(net) FILTER (WHERE window_days = $ltv_days::INTEGER) AS net_ltv
    FROM states
    GROUP BY customer_key, cutoff_date
),
maturity AS (
    SELECT
        v.*,
        p.customer_id,
        (cutoff_date + $churn_days::INTEGER)::TIMESTAMP <= $last_event::TIMESTAMP AS churn_label_mature,
        (cutoff_date + $ltv_days::INTEGER)::TIMESTAMP <= $last_event::TIMESTAMP AS ltv_label_mature
    FROM per_customer v
    JOIN pairs p USING (customer_key, cutoff_date)
)
SELECT
    cutoff_date,
    customer_id,
    churn_label_mature,
    CASE WHEN churn_label_mature THEN orders_churn - orders_t = 0 END AS churned,
    ltv_label_mature,
    CASE WHEN ltv_label_mature THEN (net_ltv - net_t)::DOUBLE END AS future_spend,
    CASE WHEN ltv_label_mature THEN (orders_ltv - orders_t)::DOUBLE END AS future_orders
FROM maturity
ORDER BY cutoff_date, customer_key  -- customer_id order
