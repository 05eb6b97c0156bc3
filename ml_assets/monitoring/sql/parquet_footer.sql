-- Row count and the largest order timestamp statistic of a Parquet file, read
-- from its footer only (no data pages).
SELECT
    (SELECT sum(num_rows) FROM parquet_file_metadata($path)) AS rows,
    (SELECT max(stats_max) FROM parquet_metadata($path) WHERE path_in_schema = $column) AS newest
