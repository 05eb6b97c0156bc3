-- Customer-key ranges [lo, hi] holding about $rows (customer, cutoff) rows
-- each over the cutoffs in $cutoffs, in key order (a customer is never split).
WITH counts AS (
    SELECT customer_key, len(list_filter($cutoffs::DATE[], lambda c: c > first_day)) AS cutoffs
    FROM first_purchases
),
running AS (
    SELECT customer_key, sum(cutoffs) OVER (ORDER BY customer_key) AS upto
    FROM counts
    WHERE cutoffs > 0
)
SELECT min(customer_key) AS lo, max(customer_key) AS hi
FROM running
GROUP BY (upto - 1) // $rows::BIGINT
ORDER BY lo
