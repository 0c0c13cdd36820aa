@{
    Name        = 'Expand-BulkFile'
    Synopsis    = 'Expands .bz2 files of a dump, verified and atomically, decoding each file on all cores.'
    Description = @'
Expands bzip2 files: BulkFile objects from Start-BulkFetch, or .bz2 paths given with -Path or piped (strings,
or Get-ChildItem output). Each file is decoded by the module's own parallel bzip2 decoder: its blocks are
found by their bit-level markers and decoded on every core, each block's CRC and each stream's CRC are
checked, and files made of several concatenated streams (pbzip2) are expanded whole.

The expanded file is written next to its source, or into -Destination, under the source's name without
.bz2 (opinions-2024-12-31.csv.bz2 becomes opinions-2024-12-31.csv). It is first written under a temporary
name ending in .bulkdata-expanding, flushed to disk and verified, then renamed: a file under the final name
is always complete. The .bz2 file is deleted afterwards unless -KeepCompressed.

Files are expanded largest first, -ThrottleLimit at once (default 1: one file already uses every core).
An existing expanded file is left alone and reported as Skipped unless -Force. A corrupt, truncated or
foreign file is reported with an error naming the file and the compressed position of the bad block; no
file is left under the final name, the .bz2 file is kept, and the other files go on.

Outputs one BulkFile per file: State Extracted (Verification Bzip2Crc), Skipped (Verification
AlreadyPresent) or Failed (with Error). BulkFile objects that are not .bz2 files (schema, load script,
CSV files already expanded) and failed downloads are passed on unchanged, so the command can sit between
Start-BulkFetch and Invoke-BulkImport. Progress is reported by compressed bytes.
'@
    Parameters  = @{
        Path           = 'The .bz2 files to expand. Wildcards are accepted. Binds from the pipeline, and by property name from objects with a Path or FullName property.'
        InputObject    = 'BulkFile objects, usually from Start-BulkFetch. Those that are not .bz2 files are passed on unchanged.'
        Destination    = 'The folder to write the expanded files to; created if missing. By default each file is written next to its source.'
        KeepCompressed = 'Keeps the .bz2 file after expanding it. By default it is deleted once the expanded file is complete and verified.'
        ThrottleLimit  = 'How many files to expand at once. Default: 1, since each file is already decoded on all cores.'
        Threads        = 'Blocks decoded at once within one file. Default: 0, one per processor.'
        Force          = 'Replaces an existing expanded file. Without it, such a file is left alone and reported as Skipped.'
        NoWait         = 'Another run holding a destination folder''s lock: fail at once with an InUse error naming its owner (process, host, start time) instead of waiting, with progress, for it to end.'
        WhatIf         = 'Shows which files would be expanded, and where, without doing it.'
        Confirm        = 'Asks before expanding each file.'
    }
    Inputs      = @('BulkData.Engine.DumpFiles.BulkFile', 'System.String')
    Outputs     = @('BulkData.Engine.DumpFiles.BulkFile')
    Links       = @('about_BulkData', 'Start-BulkFetch', 'Invoke-BulkImport')
    Online      = 'README.md#expand-bulkfile'
    Examples    = @(
        @{
            Title   = 'Fetch and expand the newest dump'
            Code    = 'Get-BulkManifest | Start-BulkFetch -Destination /srv/bulk-data | Expand-BulkFile'
            Remarks = 'Downloads the files, then expands each .bz2 file next to it and deletes the .bz2 file. The schema and load script pass through.'
        }
        @{
            Title   = 'Expand files already on disk into another folder, keeping the .bz2 files'
            Code    = 'Get-ChildItem /srv/bulk-data -Filter *.csv.bz2 | Expand-BulkFile -Destination /srv/csv -KeepCompressed'
            Remarks = 'Writes /srv/csv/<name>.csv for each file, largest first.'
        }
        @{
            Title   = 'See what would happen'
            Code    = 'Expand-BulkFile -Path /srv/bulk-data/*.bz2 -WhatIf'
            Remarks = 'Lists each file and its destination without expanding anything.'
        }
        @{
            Title   = 'Replace earlier expansions, two files at a time'
            Code    = 'Expand-BulkFile -Path /srv/bulk-data/*.bz2 -Force -ThrottleLimit 2 -KeepCompressed'
            Remarks = 'Expands every file again, replacing existing CSV files.'
        }
    )
}
