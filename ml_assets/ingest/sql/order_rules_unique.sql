-- 'unique' mode: among valid rows, a later row reusing an order id is rejected;
-- the first in the file keeps it.
UPDATE ingest_verdicts
SET reason = 'duplicate_order_id'
WHERE source_row IN (
    SELECT source_row
    FROM ingest_verdicts
    WHERE reason IS NULL AND order_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY source_row) > 1
)
