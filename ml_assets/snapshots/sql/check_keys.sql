-- Exact, with one hash-table entry per customer rather than per (cutoff, customer)
-- key: each of a customer's cutoffs is one bit of a 64-bit mask (bit = month % 64;
-- the day of the month and month // 64 are part of the group, so two cutoffs never
-- share a bit). A table holds a key more than once exactly when the customer's rows
-- there outnumber the bits set.
WITH numbered AS (
    SELECT customer_id, side, day(cutoff_date) AS day,
           year(cutoff_date) * 12 + month(cutoff_date) - 1 AS month,
           month // 64 AS block,
           1::UBIGINT << (month % 64)::UBIGINT AS bit
    FROM (
        SELECT customer_id, cutoff_date, 0 AS side FROM training_snapshots
        UNION ALL
        SELECT customer_id, cutoff_date, 1 FROM customer_features
    )
),
per_customer AS (
    SELECT day, block,
        count(*) FILTER (side = 0) AS label_rows,
        count(*) FILTER (side = 1) AS feature_rows,
        coalesce(bit_or(bit) FILTER (side = 0), 0) AS label_bits,
        coalesce(bit_or(bit) FILTER (side = 1), 0) AS feature_bits
    FROM numbered
    GROUP BY customer_id, day, block
),
-- only cutoffs present in both tables are compared (either may be materialized alone):
-- a table holds a cutoff when any of its customers has the cutoff's bit
shared AS (
    SELECT day, block, bit_or(label_bits) & bit_or(feature_bits) AS mask
    FROM per_customer
    GROUP BY day, block
)
SELECT
    coalesce(sum(label_rows - bit_count(label_bits) + feature_rows - bit_count(feature_bits)), 0)::BIGINT,
    coalesce(sum(bit_count(xor(label_bits, feature_bits) & s.mask)), 0)::BIGINT
FROM per_customer p JOIN shared s USING (day, block)
