-- The file's columns mapped onto the canonical ones, still as text. The braced
-- slots hold column identifiers only: each was checked against the file's header
-- and quoted before it is put in (values are never put into SQL text).
-- copy_rank > 1 marks an exact copy (every column of the file equal) of an
-- earlier row. Rows are compared exactly only where their hashes collide, which
-- keeps the whole-row comparison off the millions of unique rows.
CREATE OR REPLACE TEMP TABLE ingest_mapped AS
WITH hashed AS (
    SELECT _file_row.rowid + 1 AS ordinal, hash(_file_row) AS row_hash
    FROM ingest_file AS _file_row
),
shared_hashes AS (
    SELECT row_hash FROM hashed GROUP BY row_hash HAVING count(*) > 1
),
copies AS (
    SELECT
        _file_row.rowid + 1 AS ordinal,
        row_number() OVER (PARTITION BY _file_row ORDER BY _file_row.rowid) AS copy_rank
    FROM ingest_file AS _file_row
    WHERE hash(_file_row) IN (SELECT row_hash FROM shared_hashes)
)
SELECT
    _file_row.rowid + 1 AS ordinal,
    coalesce(copies.copy_rank, 1) AS copy_rank,
    {customer_id} AS customer_id,
    {order_ts} AS order_ts,
    {amount_a} AS amount_a,
    {amount_b} AS amount_b,
    {order_id} AS order_id,
    {quantity} AS quantity
FROM ingest_file AS _file_row
LEFT JOIN copies ON copies.ordinal = _file_row.rowid + 1
