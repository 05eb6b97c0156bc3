-- Whether $customer is in the log at all, and the day after the log's newest
-- event (the default as-of date: features then use the whole log).
SELECT
    (SELECT count(*) FROM transactions WHERE customer_id = $customer::VARCHAR) AS events,
    (SELECT max(order_ts)::DATE + 1 FROM transactions) AS day_after_last
