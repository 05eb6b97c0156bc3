-- What the warehouse last loaded from the transaction file.
SELECT source_path, source_bytes, rows_in, max_order_ts
FROM ingest_log
ORDER BY loaded_at DESC
LIMIT 1
