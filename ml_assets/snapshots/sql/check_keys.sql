WITH dup AS (
    SELECT count(*) AS n FROM (
        SELECT cutoff_date, customer_id FROM training_snapshots GROUP BY ALL HAVING count(*) > 1
        UNION ALL
        SELECT cutoff_date, customer_id FROM customer_features GROUP BY ALL HAVING count(*) > 1
    )
),
-- only cutoffs present in both tables are compared (either may be materialized alone)
shared AS (
    SELECT cutoff_date FROM training_snapshots INTERSECT SELECT cutoff_date FROM customer_features
),
unmatched AS (
    SELECT count(*) AS n
    FROM (SELECT cutoff_date, customer_id FROM training_snapshots WHERE cutoff_date IN (SELECT * FROM shared)) l
    FULL JOIN (SELECT cutoff_date, customer_id FROM customer_features WHERE cutoff_date IN (SELECT * FROM shared)) f
    USING (cutoff_date, customer_id)
    WHERE l.customer_id IS NULL OR f.customer_id IS NULL
)
SELECT dup.n, unmatched.n FROM dup, unmatched
