@{
    Name        = 'Invoke-BulkImport'
    Synopsis    = 'Imports a bulk-data dump (CSV or .csv.bz2 files, schema script, load script) into PostgreSQL, one transaction per table, resumable.'
    Description = @'
Imports the files of a dump into a PostgreSQL database without psql and without temporary files: each
.csv.bz2 file is decoded by the module's parallel bzip2 decoder while its bytes stream into
COPY ... FROM STDIN. Plain .csv files work too.

Inputs are BulkFile objects (Start-BulkFetch, Expand-BulkFile), files or paths from the pipeline, or -Path
(files or a folder: the dump's data files, its schema-<date>.sql and its load-bulk-data-<date>.sh are found
by name).

ManifestEntry objects (Get-BulkManifest | Invoke-BulkImport) are streamed straight from the bucket: each
table's bytes go from a GET through the decoder into COPY, with no local file of any kind (no partial, no
temporary file, no spool), so no local disk space is needed. A connection that drops or stalls is resumed
inside the open COPY transaction with a ranged GET from the byte already read, pinned to the object's ETag
(If-Match), with Start-BulkFetch's retries, backoff and -StallTimeout. The MD5 (single-part ETag) or the
server's checksum is checked from the streamed bytes before the table commits; a mismatch, or an object that
changed while it was read (the error names it and both ETags), rolls that table back. The journal records
the ETag, so a re-run skips tables loaded from the same object. The schema and load script are read from the
bucket too. -KeepDownload also writes each object, verified, into a folder under Start-BulkFetch's names
(one GET, two consumers), so a later import of that folder needs no network. The kept copy follows
Start-BulkFetch's space rules with the same -MinimumFreeSpace and -LowSpaceTimeout: under the minimum its writes
(and so that table's stream) pause with a warning and go on when space returns; after -LowSpaceTimeout paused
the table fails and rolls back, with an error naming the folder, and no file is left under a final name.

The target database is -Database, else the one the schema script creates (CREATE DATABASE x + \connect x),
else the connection's. It is created when missing. Into a fresh database the schema's pre-data (tables) is
applied first, then the data, then its post-data (indexes, constraints, triggers), as pg_restore does.
Post-data runs one statement at a time, each recorded in the journal, so a re-run resumes after the last
one done. Foreign keys are added NOT VALID and then validated: the publisher exports table by table, so a
dump carries orphans (rows whose parent was deleted between two exports). A key whose rows have orphans
stays NOT VALID (it still checks new rows), one warning per key names the count and a few keys, and the
schema's result lists them (Orphans); every index and other key is built all the same. -RemoveOrphans
deletes those rows and validates the key.
Into tables that already exist (made by migrations) the data is loaded as they are, with
session_replication_role = replica when the role may set it (orphans are then reported as warnings), else
one table at a time in foreign-key order.

Each file's table comes from -TableMap, else from the load script's COPY lines, else from the publisher's
dataset-to-table mapping. The CSV dialect comes from -Dialect, else from the load script's COPY options,
else from the bytes: the first blocks of the file (a backtick quote; \" or doubled quotes inside values),
else the dialect the publisher used at the dump's date. Every file is checked while it streams: a sequence the
chosen dialect reads differently from the other plausible one (a doubled quote under ESCAPE '\', text after a
closing quote) rolls the table back; a sniffed dialect is then reloaded in the right one, a stated one fails the
table naming the dialect to use. ImportResult.DialectReason says why (stated, sniffed, prior).
The column list comes from the CSV header.
Before any table is emptied, a preflight reads every file's header (the first block of a .bz2) and compares it
with its table: columns the table lacks, NOT NULL columns without a default that the file lacks, a missing
table. Every table's problems come in one error and nothing is loaded; -ExcludeExtraColumns loads the shared
columns instead of failing for columns the table lacks.

Each table loads in one transaction (TRUNCATE and COPY); -ThrottleLimit tables at once, largest first. A
table that fails (corrupt or truncated file, wrong column count, invalid UTF-8) rolls back alone and is
reported with the file, the table and the line (or compressed byte offset); the others go on. Rows loaded are
checked against the CSV records read. A journal (bulkdata.import_journal in the target database), written in
the same transaction, records each table's file, ETag or size/time/SHA-256, and rows: a second run skips
tables loaded from the same file (Status Skipped) and reloads those whose file changed.

Post-data runs as a schedule on the same -ThrottleLimit connections: each index and key is its own statement,
started as soon as its table's data is committed (while other tables still load); foreign keys after the keys
of both their tables, added NOT VALID, then validated in parallel; triggers, comments and anything else after
those, one at a time in script order. Each statement is journalled when done, so a stopped run resumes.
-Online refreshes tables that exist and are in use without making their readers wait: each table is
loaded into a staging schema (bulkdata_stage_<n>) as a copy of the live definition (columns, defaults,
identity and sequences, indexes, constraints, triggers, owner, grants); its indexes and keys are built
there in parallel and its foreign keys validated (orphans reported); then every table is swapped in one
short transaction (a lock_timeout retried with backoff). Readers see the old generation until the commit
and the new one after it. Rows written to the live tables during the load are not in the new generation
(a warning says so). Foreign keys of other tables are re-pointed at the new tables; views on the tables
are made again on the new tables in the swap (same view, owner and grants); materialized views are an error
before anything is loaded. The space the staging generation needs (the live tables' size) is reported, also
by -Plan, and checked where the server is local (elsewhere a warning says it could not be checked); -Force
goes on without it. -KeepPrevious keeps
the old tables in bulkdata_prev_<n> (named in the BulkGeneration output) for Undo-BulkImport; without it
they are dropped after the swap.

The password (from -Credential, the connection string or PGPASSWORD) never appears in output, messages or
errors.
'@
    Parameters  = @{
        InputObject      = 'BulkFile objects, FileInfo objects or paths from the pipeline, or ManifestEntry objects (Get-BulkManifest, also deserialized or any object with Key and Size but no Path), which are streamed from the bucket; also deserialized BulkFile objects (Import-Clixml, Receive-Job, remoting) and objects with a Path (or FullName) property, with Dataset, ETag and Kind when known. Failed files are warned about and left out.'
        Path             = 'Files or folders to import. A folder imports every dump file in it (data, schema-<date>.sql, load-bulk-data-<date>.sh); a folder with none is an error and no database is created.'
        ConnectionString = 'An Npgsql connection string (Host=...;Port=...;Username=...;Password=...;Database=...). What it leaves out follows the PG* environment variables. A key Npgsql does not know, or a value it cannot take, is an error naming that key (never a value).'
        Host             = 'The server host. Default: PGHOST, else localhost.'
        Port             = 'The server port. Default: PGPORT, else 5432.'
        Database         = 'The target database; created if it does not exist. Overrides the database the schema script names. Default: the schema script''s, else PGDATABASE, else the user name.'
        Credential       = 'User name and password. Default: PGUSER and PGPASSWORD.'
        Plan             = 'Outputs the plan as ImportPlanStep objects (CreateDatabase, PreData, one Load per table in order with file, bytes and dialect, PostData) and does nothing else: no database is created. Without -Online it connects to nothing; with -Online the loads go into staging copies, a StagingSpace step gives the space the staging generation needs (the live tables'' sizes, read-only, with the free space where it can be measured, or why it was not) and a Swap step comes last. -WhatIf and a declined -Confirm write no objects.'
        Schema           = 'A schema script to load (instead of the schema-<date>.sql among the inputs). Given alone, without -Path or pipeline input, it loads just that schema.'
        TableMap         = 'A hashtable of dataset (or file name) to table, for example @{ ''opinions'' = ''public.search_opinion'' }; overrides the load script and the publisher''s mapping.'
        Dialect          = 'The CSV dialect of every file: Escape (now), ForceQuote (2023-07 to 2024-07, read as Rfc4180), Backtick (2024-07-25 to 2025-01) or Rfc4180. Overrides the load script and the sniffing; still checked against the bytes (a mismatch fails the table, naming the dialect to use).'
        ThrottleLimit    = 'How many connections work at once, table loads and post-data statements (each index, key, foreign key and validation) together. Default: one per processor.'
        ImportSetting    = 'Session settings of the post-data connections, over the ones chosen from the server and -ThrottleLimit (maintenance_work_mem, max_parallel_maintenance_workers; see docs/import.md), or any other setting: @{ maintenance_work_mem = ''1GB''; max_parallel_maintenance_workers = 4 }. Each is checked on the server before anything is loaded.'
        Force            = 'Reloads every table, even those the journal says were loaded from the same file.'
        NoWait           = 'Another import holding the target database''s advisory lock: fail at once with an InUse error naming it (its process, host and start time, and its server session) instead of waiting, with progress, for it to end.'
        Verify           = 'After loading, outputs an ImportVerification per foreign key (orphan rows) and per key (duplicate values).'
        ExcludeExtraColumns = 'Loads the columns a file and its table share: the file''s columns the table lacks (a newer dump into an older database) are dropped from every record while streaming, counted in the result (ExcludedColumns, DroppedValues). Without it such drift is an error before anything is loaded.'
        RemoveOrphans    = 'Deletes the orphans of a foreign key whose validation fails (rows whose key names no parent; reported with their count and sample keys), then validates the key. Orphans still referred to by other rows are kept, and the key stays NOT VALID.'
        Online           = 'Refreshes existing tables beside the live ones: loads a staging generation (same definition, indexes and keys built after the load, foreign keys validated), then swaps every table in one short transaction; readers never wait for the load nor see a partial table. Changes written to the tables during the load are lost (warned). Outputs a BulkGeneration. Into a fresh database it imports the usual way.'
        KeepPrevious     = 'With -Online: keeps the previous generation in a schema of its own (bulkdata_prev_<n>, named in the BulkGeneration output); Undo-BulkImport swaps it back. Without it the old tables are dropped after the swap.'
        KeepDownload     = 'With ManifestEntry input (streamed from the bucket): also writes each object into this folder as it streams, under the names and rules of Start-BulkFetch (a .bulkdata-partial file renamed once its MD5 or checksum is verified, the folder''s lock); the files are byte-identical to the objects and a later Invoke-BulkImport -Path of the folder needs no network.'
        RetryCount       = 'With ManifestEntry input: failed attempts in a row without progress before a streamed object''s read gives up (an attempt that received bytes does not count), as Start-BulkFetch''s -RetryCount. Default 5.'
        MinimumFreeSpace = 'With -KeepDownload: bytes to keep free on the file system of the -KeepDownload folder; while less is free the copy''s writes, and so the table''s stream, pause with a warning and go on when space returns. Same meaning and check as Start-BulkFetch''s. Default: 256 MB. Not without -KeepDownload (a streamed import without it writes nothing locally).'
        LowSpaceTimeout  = 'With -KeepDownload: how long the kept copy''s writes may stay paused for lack of space before that table fails and is rolled back (the error names the folder; nothing is left under a final name). Same meaning and check as Start-BulkFetch''s. Default: 30 minutes.'
        StallTimeout     = 'With ManifestEntry input: a streamed read that receives no byte for this long is cut and resumed at the byte reached, as Start-BulkFetch''s -StallTimeout. Default 2 minutes.'
        ProfileName      = 'With ManifestEntry input: the AWS profile whose credentials sign the bucket''s requests. Default: the environment''s credentials, else anonymous (the public bucket).'
        WhatIf           = 'Says what would be imported into which database and changes nothing; writes no objects (use -Plan for the plan as objects).'
        Confirm          = 'Asks before importing.'
    }
    Inputs      = @('BulkData.Engine.DumpFiles.BulkFile', 'BulkData.Engine.Manifest.ManifestEntry', 'System.IO.FileInfo', 'System.String')
    Outputs     = @('BulkData.Engine.Import.ImportResult', 'BulkData.Engine.Import.ImportPlanStep', 'BulkData.Engine.Import.ImportVerification', 'BulkData.Engine.Import.BulkGeneration')
    Links       = @('about_BulkData', 'Undo-BulkImport', 'Start-BulkFetch', 'Expand-BulkFile', 'Stop-NonEssentialService', 'Invoke-BulkDataRunbook')
    Online      = 'README.md#invoke-bulkimport'
    Examples    = @(
        @{
            Title   = 'Stream a dump from the bucket into PostgreSQL, with no local copy'
            Code    = 'Get-BulkManifest | Invoke-BulkImport -Database courtlistener'
            Remarks = 'Each table streams from its GET through the decoder into COPY; a dropped connection resumes inside the COPY; nothing is written to local disk.'
        }
        @{
            Title   = 'Stream, and keep a verified copy for a later import without network'
            Code    = 'Get-BulkManifest | Invoke-BulkImport -Database courtlistener -KeepDownload /srv/bulk-data'
            Remarks = 'The files land in /srv/bulk-data under the names Start-BulkFetch gives them; Invoke-BulkImport -Path /srv/bulk-data can import them again later.'
        }
        @{
            Title   = 'Stream and keep a copy, keeping 1 GB free and waiting at most an hour for space'
            Code    = 'Get-BulkManifest | Invoke-BulkImport -Database courtlistener -KeepDownload /srv/bulk-data -Force -MinimumFreeSpace 1GB -LowSpaceTimeout (New-TimeSpan -Hours 1)'
            Remarks = 'While /srv/bulk-data has less than 1 GB free, the copy and the table it streams pause with a warning; after an hour paused that table fails and is rolled back, the others go on.'
        }
        @{
            Title   = 'Fetch and import the newest dump'
            Code    = 'Get-BulkManifest | Start-BulkFetch -Destination /srv/bulk-data | Invoke-BulkImport -Database courtlistener'
            Remarks = 'Connects as psql would, through PGHOST, PGPORT, PGUSER and PGPASSWORD; creates the courtlistener database, loads the tables, then applies indexes and constraints.'
        }
        @{
            Title   = 'Import a fetched folder into an existing database'
            Code    = 'Invoke-BulkImport -Path /srv/bulk-data -ConnectionString ''Host=localhost;Username=postgres;Database=courtlistener'''
            Remarks = 'The password comes from PGPASSWORD. Tables that exist are loaded as they are.'
        }
        @{
            Title   = 'See the plan'
            Code    = 'Invoke-BulkImport -Path /srv/bulk-data -Database cl_test -Plan'
            Remarks = 'Lists the database, the schema steps and each table with its file and dialect, without connecting to change anything.'
        }
        @{
            Title   = 'Reload everything and check keys'
            Code    = 'Invoke-BulkImport -Path /srv/bulk-data -Database courtlistener -Force -Verify | Where-Object { $_ -is [BulkData.Engine.Import.ImportVerification] -and -not $_.Passed }'
            Remarks = 'Shows the foreign keys with orphan rows and the keys with duplicate values.'
        }
        @{
            Title   = 'See the orphans of a dump, then remove them'
            Code    = 'Invoke-BulkImport -Path /srv/bulk-data -Database courtlistener | Where-Object Table -eq ''(schema)'' | ForEach-Object Orphans; Invoke-BulkImport -Path /srv/bulk-data -Database courtlistener -RemoveOrphans'
            Remarks = 'The first run builds every index and key and leaves the keys with orphans NOT VALID, listing each with its count and sample keys; the second loads nothing again (the journal) and deletes the orphans, then validates the keys.'
        }
        @{
            Title   = 'Refresh a database in use, keeping the previous generation'
            Code    = 'Get-BulkManifest | Start-BulkFetch -Destination /srv/bulk-data | Invoke-BulkImport -Database courtlistener -Online -KeepPrevious -Force -WarningAction SilentlyContinue | Where-Object { $_ -is [BulkData.Engine.Import.BulkGeneration] }'
            Remarks = 'Loads every table beside the live one and swaps them in at once; the web services keep running. The BulkGeneration names the schema holding the previous tables (Undo-BulkImport swaps them back). -Force reloads tables already loaded from the same files.'
        }
    )
}
