-- A few rejected rows per reason, the earliest in the file first.
SELECT *
FROM rejected_transactions
QUALIFY row_number() OVER (PARTITION BY reason ORDER BY source_row) <= $per_reason
ORDER BY reason, source_row
