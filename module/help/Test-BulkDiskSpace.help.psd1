@{
    Name        = 'Test-BulkDiskSpace'
    Synopsis    = 'Checks whether a folder''s file system has room for the files of a manifest.'
    Description = @'
Adds up the sizes of the ManifestEntry objects from the pipeline (or -RequiredBytes) and compares them with
the space available to unprivileged users on the file system holding -Path, as df reports it. Files already
complete at -Path are not counted again, and a resumable partial download counts only its missing bytes.
With -Extract, each .bz2 file also needs room for its expanded form (-ExpansionRatio times its size; the
real CourtListener exports expand about 4.9 times). -ReserveBytes keeps a margin free.

With -Streamed the plan is a streamed import (Get-BulkManifest | Invoke-BulkImport, no -KeepDownload): the
files go from the bucket straight into PostgreSQL and need no local space, so RequiredBytes is 0 and the
report's Note says so (Streamed is $true); -Path is optional then.

A path that does not exist yet is measured at its nearest existing parent. Returns a DiskSpaceReport, or
with -Quiet only $true or $false.
'@
    Parameters  = @{
        Path           = 'The folder the files will be written to. It need not exist yet. Optional with -Streamed.'
        Streamed       = 'The files will be streamed from the bucket into PostgreSQL (Get-BulkManifest | Invoke-BulkImport): the report needs no local space (RequiredBytes 0) and its Note says so.'
        InputObject    = 'ManifestEntry objects, usually from Get-BulkManifest (also deserialized, from Import-Clixml or Receive-Job), or objects with the properties Key and Size; a missing one is a binding error naming it.'
        RequiredBytes  = 'A number of bytes to check for instead of a manifest.'
        Extract        = 'Counts the expanded size of .bz2 files as well, as Start-BulkFetch -Extract needs.'
        ExpansionRatio = 'Expanded size over compressed size of .bz2 files. Default: 5.'
        ReserveBytes   = 'Bytes to keep free beyond what the files need.'
        Quiet          = 'Returns only $true when there is room and $false when there is not.'
    }
    Inputs      = @('BulkData.Engine.Manifest.ManifestEntry')
    Outputs     = @('BulkData.Engine.Transfer.DiskSpaceReport', 'System.Boolean')
    Links       = @('about_BulkData', 'Get-BulkManifest', 'Start-BulkFetch')
    Online      = 'README.md#test-bulkdiskspace'
    Examples    = @(
        @{
            Title   = 'Room for the newest dump'
            Code    = 'Get-BulkManifest | Test-BulkDiskSpace -Path /srv/bulk-data'
            Remarks = 'Reports available and required bytes for fetching the compressed files, which Invoke-BulkImport reads directly.'
        }
        @{
            Title   = 'A streamed import needs no local space'
            Code    = 'Get-BulkManifest | Test-BulkDiskSpace -Streamed'
            Remarks = 'RequiredBytes is 0: Get-BulkManifest | Invoke-BulkImport writes no local file.'
        }
        @{
            Title   = 'Room to expand as well, with a margin'
            Code    = 'Get-BulkManifest | Test-BulkDiskSpace -Path /srv/bulk-data -Extract -ReserveBytes 20GB'
            Remarks = 'Counts the expanded CSV files too, and keeps 20 GB free.'
        }
        @{
            Title   = 'A yes or no for a script'
            Code    = 'if (-not (Test-BulkDiskSpace -Path ([IO.Path]::GetTempPath()) -RequiredBytes 1GB -Quiet)) { throw ''Not enough room'' }'
            Remarks = 'Returns $true or $false only.'
        }
    )
}
