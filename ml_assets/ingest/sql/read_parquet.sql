-- Every column cast to text, in file order, so rowid + 1 is the source row.
CREATE OR REPLACE TEMP TABLE ingest_file AS
SELECT COLUMNS(* EXCLUDE (file_row_number))::VARCHAR
FROM read_parquet($path, file_row_number = true)
ORDER BY file_row_number
