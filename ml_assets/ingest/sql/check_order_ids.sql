-- Order ids used by more than one row of transactions, with a few examples.
SELECT
    count(*) AS duplicated_order_ids,
    coalesce(sum(n), 0) AS rows_involved,
    coalesce(string_agg(order_id, ', ' ORDER BY n DESC, order_id) FILTER (WHERE rank <= 5), '')
        AS examples
FROM (
    SELECT order_id, count(*) AS n, row_number() OVER (ORDER BY count(*) DESC, order_id) AS rank
    FROM transactions
    WHERE order_id IS NOT NULL
    GROUP BY order_id
    HAVING count(*) > 1
)
