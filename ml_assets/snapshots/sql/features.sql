-- Point-in-time features for the (cutoff, customer) pairs in temp table
-- snapshot_pairs, from events strictly before the cutoff (needs customer_state
-- and first_purchases). It looks the state up at each cutoff and at the cutoff
-- minus each of the windows in $windows (the pivot below names them one by one).
-- The same query serves training and scoring. $lo and $hi (NULL: everyone)
-- bound the customer keys of the pairs, so that a chunk of customers reads only
-- its own part of customer_state.
WITH pairs AS (
    SELECT p.cutoff_date, f.customer_key, f.customer_id, f.first_day, f.first_day_gross,
           f.first_event_day
    FROM snapshot_pairs p
    JOIN first_purchases f USING (customer_key)
),
-- The state strictly before the cutoff: everything over all history. The
-- look-ups join on the customer and pick the one state row whose range
-- (day, next_day] holds the day looked up: a hash join that compares each
-- look-up with the customer's few state rows, cheaper here than an ASOF join
-- (which sorts both sides). Its work grows with look-ups times state rows per
-- customer, at most the cutoffs times the customer's days with events, the
-- same order as the reference query's scan of every event per cutoff.
at_cutoff AS (
    SELECT p.*, s.last_event_day,
           s.orders, s.refunds, s.gross, s.refunded, s.gross_sq, s.max_order,
           s.purchase_days, s.holiday_days, s.last_purchase_day, s.gap_sq_sum, s.gap_max,
           -- the gaps between consecutive purchase days add up to last minus first
           (s.last_purchase_day - p.first_day)::INTEGER AS gap_sum
    FROM pairs p
    JOIN (SELECT * FROM customer_state
          WHERE $lo::BIGINT IS NULL OR customer_key BETWEEN $lo::BIGINT AND $hi::BIGINT) s
        ON p.customer_key = s.customer_key
       AND p.cutoff_date > s.day AND p.cutoff_date <= s.next_day
),
-- A window [cutoff - w, cutoff) is the state before the cutoff minus the state
-- before cutoff - w. It is empty when the customer's last event came before
-- cutoff - w, and it is the whole state when their first event came on or after
-- it; only the windows in between are looked up (most customers are quiet in
-- most windows, and many are young): the lookups, and the pivot after them,
-- stay small and narrow.
lookups AS (
    SELECT a.customer_key, a.cutoff_date, w.window_days
    FROM at_cutoff a
    JOIN (SELECT unnest($windows::INTEGER[]) AS window_days) w
        ON a.last_event_day >= a.cutoff_date - w.window_days
       AND a.first_event_day < a.cutoff_date - w.window_days
),
-- the state before cutoff - w (there is one: the first event came before it)
starts AS (
    SELECT l.customer_key, l.cutoff_date, l.window_days,
           s.orders, s.gross, s.gross - s.refunded AS net, s.purchase_days
    FROM lookups l
    JOIN (SELECT * FROM customer_state
          WHERE $lo::BIGINT IS NULL OR customer_key BETWEEN $lo::BIGINT AND $hi::BIGINT) s
        ON l.customer_key = s.customer_key
       AND l.cutoff_date - l.window_days > s.day AND l.cutoff_date - l.window_days <= s.next_day
),
windows AS (
    SELECT
        customer_key,
        cutoff_date,
        any_value(orders) FILTER (WHERE window_days = 30) AS orders_30d_start,
        any_value(orders) FILTER (WHERE window_days = 90) AS orders_90d_start,
        any_value(orders) FILTER (WHERE window_days = 180) AS orders_180d_start,
        any_value(orders) FILTER (WHERE window_days = 365) AS orders_365d_start,
        any_value(gross) FILTER (WHERE window_days = 90) AS gross_90d_start,
        any_value(gross) FILTER (WHERE window_days = 365) AS gross_365d_start,
        any_value(net) FILTER (WHERE window_days = 30) AS spend_30d_start,
        any_value(net) FILTER (WHERE window_days = 90) AS spend_90d_start,
        any_value(net) FILTER (WHERE window_days = 180) AS spend_180d_start,
        any_value(net) FILTER (WHERE window_days = 365) AS spend_365d_start,
        any_value(purchase_days) FILTER (WHERE window_days = 90) AS purchase_days_90d_start,
        any_value(purchase_days) FILTER (WHERE window_days = 275) AS purchase_days_275d_start,
        any_value(purchase_days) FILTER (WHERE window_days = 365) AS purchase_days_365d_start
    FROM starts
    GROUP BY customer_key, cutoff_date
),
base AS (
    SELECT
        a.*,
        -- the whole state when the window holds every event; else the state minus
        -- the state at the window's start, or 0 (no look-up row: no event in it)
        CASE WHEN a.first_event_day >= a.cutoff_date - 30 THEN a.orders
             ELSE coalesce(a.orders - v.orders_30d_start, 0) END AS orders_30d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 90 THEN a.orders
             ELSE coalesce(a.orders - v.orders_90d_start, 0) END AS orders_90d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 180 THEN a.orders
             ELSE coalesce(a.orders - v.orders_180d_start, 0) END AS orders_180d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 365 THEN a.orders
             ELSE coalesce(a.orders - v.orders_365d_start, 0) END AS orders_365d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 90 THEN a.gross
             ELSE coalesce(a.gross - v.gross_90d_start, 0) END AS gross_90d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 365 THEN a.gross
             ELSE coalesce(a.gross - v.gross_365d_start, 0) END AS gross_365d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 30 THEN (a.gross - a.refunded)
             ELSE coalesce((a.gross - a.refunded) - v.spend_30d_start, 0) END AS spend_30d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 90 THEN (a.gross - a.refunded)
             ELSE coalesce((a.gross - a.refunded) - v.spend_90d_start, 0) END AS spend_90d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 180 THEN (a.gross - a.refunded)
             ELSE coalesce((a.gross - a.refunded) - v.spend_180d_start, 0) END AS spend_180d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 365 THEN (a.gross - a.refunded)
             ELSE coalesce((a.gross - a.refunded) - v.spend_365d_start, 0) END AS spend_365d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 90 THEN a.purchase_days
             ELSE coalesce(a.purchase_days - v.purchase_days_90d_start, 0) END AS purchase_days_90d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 275 THEN a.purchase_days
             ELSE coalesce(a.purchase_days - v.purchase_days_275d_start, 0) END AS purchase_days_275d,
        CASE WHEN a.first_event_day >= a.cutoff_date - 365 THEN a.purchase_days
             ELSE coalesce(a.purchase_days - v.purchase_days_365d_start, 0) END AS purchase_days_365d,
        CASE WHEN a.purchase_days > 1 THEN a.gap_sum / (a.purchase_days - 1) END AS gap_mean
    FROM at_cutoff a
    LEFT JOIN windows v USING (customer_key, cutoff_date)
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
    (purchase_days_365d - purchase_days_275d)::DOUBLE AS purchase_days_last_year_window
-- unordered: add_btyd_features writes the staged rows in cutoff, customer_id order
FROM base
