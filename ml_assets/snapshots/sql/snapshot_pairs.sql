-- The (cutoff, customer) pairs of the snapshots, for features.sql and
-- labels.sql alike: every customer who had purchased before the cutoff, at
-- each cutoff in $cutoffs, narrowed to the customer_key range [$lo, $hi]
-- (NULL: every customer).
CREATE OR REPLACE TEMP TABLE snapshot_pairs AS
SELECT c.cutoff_date, f.customer_key
FROM (SELECT unnest($cutoffs::DATE[]) AS cutoff_date) c
JOIN first_purchases f ON f.first_day < c.cutoff_date
WHERE $lo::BIGINT IS NULL OR f.customer_key BETWEEN $lo::BIGINT AND $hi::BIGINT
