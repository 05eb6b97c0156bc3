-- Every column as text, so nothing is lost before validation. Lines that do not
-- split into the header's fields land in ingest_reject_errors instead of failing
-- the load; insertion order is preserved, so rowid + 1 is the parsed row's ordinal.
CREATE OR REPLACE TEMP TABLE ingest_file AS
SELECT *
FROM read_csv(
    $path,
    all_varchar = true,
    header = true,
    encoding = $encoding,
    store_rejects = true,
    rejects_table = 'ingest_reject_errors',
    rejects_scan = 'ingest_reject_scans'
)
