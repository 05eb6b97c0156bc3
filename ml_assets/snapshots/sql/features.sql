-- Point-in-time features for every eligible customer at every cutoff in
-- $cutoffs, from events strictly before the cutoff (needs customer_state and
-- first_purchases). The same query serves training and scoring.
WITH cutoffs AS (
    SELECT unnest($cutoffs::DATE[]) AS cutoff_date
),
pairs AS (
    SELECT c.cutoff_date, f.customer_key, f.customer_id, f.first_day, f.first_day_gross
    FROM cutoffs c
    JOIN first_purchases f ON f.first_day < c.cutoff_date
),
lookups AS (
    SELECT p.customer_key, p.cutoff_date, w.window_days, p.cutoff_date - w.window_days AS lookup_day
    FROM pairs p
    CROSS JOIN (VALUES (0), (30), (90), (180), (275), (365)) AS w(window_days)
),
-- window_days = 0: state over all history before the cutoff;
-- window_days = w: state before cutoff - w, subtracted below to get [cutoff - w, cutoff).
states AS (
    SELECT l.customer_key, l.cutoff_date, l.window_days,
           s.orders, s.refunds, s.gross, s.refunded, s.gross_sq, s.max_order,
           s.purchase_days, s.holiday_days, s.last_purchase_day, s.gap_sum, s.gap_sq_sum, s.gap_max
    FROM lookups l
    ASOF LEFT JOIN customer_state s
        ON l.customer_key = s.customer_key AND l.lookup_day > s.day
),
per_customer AS (
    SELECT
        customer_key,
        cutoff_date,
        any_value(orders) FILTER (WHERE window_days = 0) AS orders,
        any_value(refunds) FILTER (WHERE window_days = 0) AS refunds,
        any_value(gross) FILTER (WHERE window_days = 0) AS gross,
        any_value(refunded) FILTER (WHERE window_days = 0) AS refunded,
        any_value(gross_sq) FILTER (WHERE window_days = 0) AS gross_sq,
        any_value(max_order) FILTER (WHERE window_days = 0) AS max_order,
        any_value(purchase_days) FILTER (WHERE window_days = 0) AS purchase_days,
        any_value(holiday_days) FILTER (WHERE window_days = 0) AS holiday_days,
        any_value(last_purchase_day) FILTER (WHERE window_days = 0) AS last_purchase_day,
        any_value(gap_sum) FILTER (WHERE window_days = 0) AS gap_sum,
        any_value(gap_sq_sum) FILTER (WHERE window_days = 0) AS gap_sq_sum,
        any_value(gap_max) FILTER (WHERE window_days = 0) AS gap_max,
        coalesce(any_value(orders) FILTER (WHERE window_days = 30), 0) AS orders_b30,
        coalesce(any_value(orders) FILTER (WHERE window_days = 90), 0) AS orders_b90,
        coalesce(any_value(orders) FILTER (WHERE window_days = 180), 0) AS orders_b180,
        coalesce(any_value(orders) FILTER (WHERE window_days = 365), 0) AS orders_b365,
        coalesce(any_value(gross) FILTER (WHERE window_days = 30), 0) AS gross_b30,
        coalesce(any_value(gross) FILTER (WHERE window_days = 90), 0) AS gross_b90,
        coalesce(any_value(gross) FILTER (WHERE window_days = 180), 0) AS gross_b180,
        coalesce(any_value(gross) FILTER (WHERE window_days = 365), 0) AS gross_b365,
        coalesce(any_value(gross - refunded) FILTER (WHERE window_days = 30), 0) AS net_b30,
        coalesce(any_value(gross - refunded) FILTER (WHERE window_days = 90), 0) AS net_b90,
        coalesce(any_value(gross - refunded) FILTER (WHERE window_days = 180), 0) AS net_b180,
        coalesce(any_value(gross - refunded) FILTER (WHERE window_days = 365), 0) AS net_b365,
        coalesce(any_value(purchase_days) FILTER (WHERE window_days = 90), 0) AS pdays_b90,
        coalesce(any_value(purchase_days) FILTER (WHERE window_days = 275), 0) AS pdays_b275,
        coalesce(any_value(purchase_days) FILTER (WHERE window_days = 365), 0) AS pdays_b365
    FROM states
    GROUP BY customer_key, cutoff_date
),
base AS (
    SELECT
        v.*,
        p.customer_id,
        p.first_day,
        p.first_day_gross,
        v.orders - v.orders_b30 AS orders_30d,
        v.orders - v.orders_b90 AS orders_90d,
        v.orders - v.orders_b180 AS orders_180d,
        v.orders - v.orders_b365 AS orders_365d,
        v.gross - v.gross_b90 AS gross_90d,
        v.gross - v.gross_b365 AS gross_365d,
        (v.gross - v.refunded) - v.net_b30 AS spend_30d,
        (v.gross - v.refunded) - v.net_b90 AS spend_90d,
        (v.gross - v.refunded) - v.net_b180 AS spend_180d,
        (v.gross - v.refunded) - v.net_b365 AS spend_365d,
        v.purchase_days - v.pdays_b90 AS purchase_days_90d,
        v.purchase_days - v.pdays_b365 AS purchase_days_365d,
        v.pdays_b275 - v.pdays_b365 AS purchase_days_last_year_window,
        CASE WHEN v.purchase_days > 1 THEN v.gap_sum / (v.purchase_days - 1) END AS gap_mean
    FROM per_customer v
    JOIN pairs p USING (customer_key, cutoff_date)
)
SELECT
    cutoff_date,
    customer_id,
    -- recency, frequency, tenure
    (cutoff_date - last_purchase_day)::DOUBLE AS recency_days,
    (cutoff_date - first_day)::DOUBLE AS tenure_days,
    orders::DOUBLE AS orders_total,
    purchase_days::DOUBLE AS purchase_days,
    orders * 30.0 / (cutoff_date - first_day) AS orders_per_30d,
    -- monetary
    gross::DOUBLE AS gross_spend,
    (gross - refunded)::DOUBLE AS net_spend,
    gross::DOUBLE / orders AS avg_order_value,
    -- population std from exact sums: sqrt(n * sum(x^2) - sum(x)^2) / n
    sqrt(greatest((orders * gross_sq - gross::DECIMAL(38, 4) * gross)::DOUBLE, 0)) / orders
        AS std_order_value,
    max_order::DOUBLE AS max_order_value,
    first_day_gross::DOUBLE AS first_day_spend,
    -- refunds
    refunds::DOUBLE AS refunds_total,
    refunded::DOUBLE AS refund_amount,
    refunded::DOUBLE / gross::DOUBLE AS refund_share,
    -- windows [cutoff - w, cutoff)
    orders_30d::DOUBLE AS orders_30d,
    orders_90d::DOUBLE AS orders_90d,
    orders_180d::DOUBLE AS orders_180d,
    orders_365d::DOUBLE AS orders_365d,
    spend_30d::DOUBLE AS spend_30d,
    spend_90d::DOUBLE AS spend_90d,
    spend_180d::DOUBLE AS spend_180d,
    spend_365d::DOUBLE AS spend_365d,
    purchase_days_90d::DOUBLE AS purchase_days_90d,
    purchase_days_365d::DOUBLE AS purchase_days_365d,
    -- inter-purchase time between distinct purchase days
    gap_mean,
    CASE WHEN purchase_days > 1
         THEN sqrt(greatest(((purchase_days - 1) * gap_sq_sum - gap_sum * gap_sum)::DOUBLE, 0))
              / (purchase_days - 1) END AS gap_std,
    gap_max::DOUBLE AS gap_max,
    (cutoff_date - last_purchase_day) / gap_mean AS recency_over_gap,
    -- trends: the last 90 days against the 365-day rate (NULL when nothing in 365 days)
    orders_90d / nullif(orders_365d * 90.0 / 365.0, 0) AS orders_trend,
    gross_90d::DOUBLE / nullif(gross_365d::DOUBLE * 90.0 / 365.0, 0) AS spend_trend,
    -- BTYD summary (days): repeat purchase days, first-to-last purchase, age
    (purchase_days - 1)::DOUBLE AS btyd_frequency,
    (last_purchase_day - first_day)::DOUBLE AS btyd_recency,
    (cutoff_date - first_day)::DOUBLE AS btyd_T,
    CASE WHEN purchase_days > 1
         THEN (gross - first_day_gross)::DOUBLE / (purchase_days - 1) ELSE 0 END AS btyd_monetary,
    month(cutoff_date)::DOUBLE AS cutoff_month,
    -- season: the month a customer was acquired in, the share of purchase days in
    -- November and December, and purchase days in [cutoff - 365, cutoff - 275): the
    -- coming churn window's season a year earlier
    month(first_day)::DOUBLE AS first_purchase_month,
    holiday_days::DOUBLE / purchase_days AS holiday_share,
    purchase_days_last_year_window::DOUBLE AS purchase_days_last_year_window
FROM base
ORDER BY cutoff_date, customer_key  -- customer_id order
