-- One row per CSV line that could not be split into fields (a line can carry
-- several errors). source_row counts data lines after the header, like the
-- source_row of parsed rows.
CREATE OR REPLACE TEMP TABLE ingest_malformed AS
SELECT
    e.line - 1 - s.skip_rows AS source_row,
    string_agg(DISTINCT e.error_type, ', ' ORDER BY e.error_type) AS errors,
    any_value(e.csv_line) AS raw_line
FROM ingest_reject_errors AS e
JOIN ingest_reject_scans AS s USING (scan_id, file_id)
GROUP BY ALL
