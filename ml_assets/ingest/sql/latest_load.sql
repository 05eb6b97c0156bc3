-- The newest load's counts (written in the same transaction as the tables).
SELECT rows_in, rows_kept, rows_rejected, source_path, loaded_at
FROM ingest_log
ORDER BY loaded_at DESC
LIMIT 1
