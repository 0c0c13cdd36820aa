@{
    Name        = 'Undo-BulkImport'
    Synopsis    = 'Swaps the previous generation kept by Invoke-BulkImport -Online -KeepPrevious back into place.'
    Description = @'
Invoke-BulkImport -Online -KeepPrevious loads a new generation of the tables beside the live ones, swaps
it in and keeps the old tables in a schema of their own (bulkdata_prev_<n>). Undo-BulkImport swaps them
back the same way: one short transaction (a lock_timeout retried with backoff, so readers never wait long),
foreign keys of other tables re-pointed at the restored tables (NOT VALID, then validated; orphans reported),
sequences never set lower than they are. The undone tables go to the generation's staging schema
(bulkdata_stage_<n>, named in the output); drop it when you no longer need them. The import journal returns
to the previous generation's files.

Without -Generation it undoes the newest generation whose previous tables were kept. A generation another
one swapped over later cannot be undone before that one. It asks for confirmation (ConfirmImpact High).
'@
    Parameters  = @{
        ConnectionString = 'An Npgsql connection string (Host=...;Port=...;Username=...;Password=...;Database=...). What it leaves out follows the PG* environment variables.'
        Host             = 'The server host. Default: PGHOST, else localhost.'
        Port             = 'The server port. Default: PGPORT, else 5432.'
        Database         = 'The database whose generation is undone. Default: PGDATABASE, else the user name.'
        Credential       = 'User name and password. Default: PGUSER and PGPASSWORD.'
        Generation       = 'The generation to undo (the Generation of a BulkGeneration, also from the pipeline). Default: the newest swapped generation whose previous tables were kept.'
        NoWait           = 'Another import holding the database''s advisory lock: fail at once with an InUse error instead of waiting for it.'
        WhatIf           = 'Says which generation would be swapped back and changes nothing.'
        Confirm          = 'Asks before swapping (the default: ConfirmImpact is High).'
    }
    Inputs      = @('BulkData.Engine.Import.BulkGeneration')
    Outputs     = @('BulkData.Engine.Import.BulkGeneration')
    Links       = @('about_BulkData', 'Invoke-BulkImport')
    Online      = 'README.md#undo-bulkimport'
    Examples    = @(
        @{
            Title   = 'Refresh, then go back to the previous generation'
            Code    = '$files = Get-BulkManifest | Start-BulkFetch -Destination /srv/bulk-data; $files | Invoke-BulkImport -Database cl_undo | Out-Null; $files | Invoke-BulkImport -Database cl_undo -Online -KeepPrevious -Force -WarningAction SilentlyContinue | Out-Null; Undo-BulkImport -Database cl_undo -Confirm:$false'
            Remarks = 'The second import swaps a new generation in and keeps the old tables; Undo-BulkImport brings them back and says where the undone tables are.'
        }
        @{
            Title   = 'See what would be undone'
            Code    = 'Invoke-BulkImport -Path /srv/bulk-data -Database cl_undo -Online -KeepPrevious -Force -WarningAction SilentlyContinue | Out-Null; Undo-BulkImport -Database cl_undo -WhatIf'
            Remarks = 'After another refresh that kept its previous tables: names the generation, its tables and the schema they would come back from, and changes nothing.'
        }
    )
}
