INSERT INTO ingest_log VALUES (
    $loaded_at, $source_path, $source_sha256, $source_bytes, $rows_in, $rows_kept,
    $rows_rejected, $min_order_ts, $max_order_ts, $customers
)
