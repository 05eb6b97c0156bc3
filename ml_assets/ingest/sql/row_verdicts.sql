-- Parse every mapped row and give it the first row rule it fails, in this order:
--   missing_customer_id, bad_timestamp, implausible_timestamp, bad_amount,
--   bad_quantity, future_timestamp, implausible_amount, duplicate_row.
-- A time before $earliest is a null sentinel (0001-01-01, 1899-12-31, Unix
-- time 0), not a purchase: the row holds no real event, whatever else it says.
-- The order rules (order_rules_*.sql) then judge the rows still valid.
-- (malformed_line rows never get here: they have no fields to parse.)
-- {shift_join} is the ASOF join on shifts when the file has malformed lines and
-- an empty join otherwise: the ASOF join sorts every row, a third of this
-- statement's time on a clean 10M-row log.
CREATE OR REPLACE TEMP TABLE ingest_verdicts AS
WITH shifts AS (
    -- A parsed row's position among parsed rows is its ordinal; each malformed
    -- line before it pushes it one row further down the file.
    SELECT gap, max(shift) AS shift
    FROM (
        SELECT
            source_row - row_number() OVER (ORDER BY source_row) AS gap,
            row_number() OVER (ORDER BY source_row) AS shift
        FROM ingest_malformed
    )
    GROUP BY gap
),
parsed AS (
    SELECT
        m.ordinal + coalesce(s.shift, 0) AS source_row,
        m.copy_rank,
        m.customer_id AS customer_id_text,
        m.order_ts AS order_ts_text,
        CASE WHEN $amount_is_product THEN m.amount_a || '*' || m.amount_b ELSE m.amount_a END
            AS amount_text,
        m.order_id AS order_id_text,
        m.quantity AS quantity_text,
        -- blank, or a null marker an export wrote as text: not a customer
        CASE WHEN lower(trim(m.customer_id)) IN ('', 'null', 'none', 'nan', '<na>', 'n/a')
            THEN NULL ELSE trim(m.customer_id) END AS customer_id,
        CASE
            WHEN NOT $iso
                THEN make_timestamp(epoch_us(try_strptime(trim(m.order_ts), $ts_format)))
            -- The session time zone is UTC during the load, so a time without an
            -- offset is taken as UTC, and an offset or zone name is converted to it.
            ELSE make_timestamp(epoch_us(coalesce(
                TRY_CAST(trim(m.order_ts) AS TIMESTAMPTZ),
                -- '... 12:00 +0200': DuckDB wants the offset attached
                TRY_CAST(regexp_replace(trim(m.order_ts), '\s+([+-]\d\d(:?\d\d)?)$', '\1')
                    AS TIMESTAMPTZ)
            )))
        END AS order_ts,
        CASE
            WHEN $amount_is_product
                THEN TRY_CAST(trim(m.amount_a) AS DOUBLE) * TRY_CAST(trim(m.amount_b) AS DOUBLE)
            ELSE TRY_CAST(trim(m.amount_a) AS DOUBLE)
        END AS amount,
        nullif(trim(m.order_id), '') AS order_id,
        nullif(trim(m.quantity), '') IS NOT NULL AS has_quantity,
        TRY_CAST(trim(m.quantity) AS DOUBLE) AS quantity
    FROM ingest_mapped AS m
    {shift_join}
)
SELECT
    * EXCLUDE (has_quantity),
    CASE
        WHEN customer_id IS NULL THEN 'missing_customer_id'
        WHEN order_ts IS NULL THEN 'bad_timestamp'
        WHEN order_ts < $earliest THEN 'implausible_timestamp'
        WHEN amount IS NULL OR NOT isfinite(amount) THEN 'bad_amount'
        WHEN has_quantity AND (quantity IS NULL OR NOT isfinite(quantity)) THEN 'bad_quantity'
        WHEN order_ts > $future_limit THEN 'future_timestamp'
        WHEN abs(amount) > $max_amount THEN 'implausible_amount'
        -- an exact copy of an earlier row; without an order id it may be a
        -- genuine repeat purchase, so the setting decides
        WHEN copy_rank > 1 AND (order_id IS NOT NULL OR NOT $keep_duplicates)
            THEN 'duplicate_row'
    END AS reason
FROM parsed
