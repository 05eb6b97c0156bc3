CREATE OR REPLACE TABLE transactions (
    customer_id VARCHAR NOT NULL,
    order_ts TIMESTAMP NOT NULL,
    amount DOUBLE NOT NULL,
    order_id VARCHAR,
    quantity DOUBLE,
    source_row BIGINT NOT NULL
);
CREATE OR REPLACE TABLE rejected_transactions (
    source_row BIGINT NOT NULL,
    reason VARCHAR NOT NULL,
    customer_id VARCHAR,
    order_ts VARCHAR,
    amount VARCHAR,
    order_id VARCHAR,
    quantity VARCHAR,
    raw_line VARCHAR
);
CREATE TABLE IF NOT EXISTS ingest_log (
    loaded_at TIMESTAMP NOT NULL,
    source_path VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    source_bytes BIGINT NOT NULL,
    rows_in BIGINT NOT NULL,
    rows_kept BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    min_order_ts TIMESTAMP,
    max_order_ts TIMESTAMP,
    customers BIGINT NOT NULL
);
