@{
    Name        = 'Start-BulkFetch'
    Synopsis    = 'Downloads the files of a manifest into a folder: largest first, in parallel, resumable and verified, with optional ordered extraction.'
    Description = @'
Collects the ManifestEntry objects from the pipeline, then runs the whole plan: largest file first, at most
-ThrottleLimit transfers at once. Before anything is downloaded the plan is checked against the free space of
-Destination (the rules of Test-BulkDiskSpace, keeping -MinimumFreeSpace free); a shortfall ends the command
with an error and nothing is downloaded.

Bytes go to a temporary file beside the final one (<name>.bulkdata-partial); only a complete, verified file is
renamed to its final name. A file is verified by its byte count against the listed size, and by the MD5 of its
body for single-part ETags; for multipart ETags ("...-N") by its size plus the server's whole-object checksum
when the server sends one. The Verification property of the output says which check was made.

A transfer cut off mid-way resumes from the bytes on disk with a ranged GET, provided the object's ETag is
unchanged (the partial records the ETag it belongs to; a partial of another version is discarded). Failed
attempts are retried with exponential backoff and jitter; only attempts in a row that made no progress count
against -RetryCount. A file already complete at the destination (or already extracted, with -Extract) is
reported Skipped without any request; -Force fetches it again.

While the run writes, free space is watched: under -MinimumFreeSpace new writes pause with a warning and go on
when space returns; a write that fails because the disk is full is handled the same way. After -LowSpaceTimeout
paused the run fails, keeping the resumable partials. Ctrl+C stops within a couple of seconds, leaving only
resumable partials under temporary names, which a re-run reuses; a run that finishes removes leftover
temporary files, except the partials of files that failed in that run.

With -Extract, .bz2 files are expanded in strict size order, largest first, by a queue of their own that
overlaps with the downloads still running: a smaller file that finished early waits for its turn. The
compressed file is deleted after a verified extraction unless -KeepCompressed. Without -Extract the
compressed files stay, which Invoke-BulkImport reads directly.

Object keys whose file name would resolve outside -Destination (parent references, absolute paths,
backslashes or other separators) are refused with an error; nothing is ever written outside -Destination.

One BulkFile is written per input as soon as its outcome is known: Downloaded, Extracted, Skipped or Failed
(a Failed file also writes an error naming the object). Write-Progress shows an overall bar with bytes, rate
and time left, and a child bar per active transfer; -Verbose logs each change of state.
'@
    Parameters  = @{
        InputObject      = 'ManifestEntry objects, usually from Get-BulkManifest, also after Export-Clixml/Import-Clixml, Receive-Job or remoting; or any objects with the properties Key and Size (and Bucket, Region, EndpointUrl, ETag when not the public bucket''s), such as Select-Object Key,Size,Bucket,EndpointUrl. Without an ETag the object''s version is asked of the store first. A missing Key or Size is a binding error naming it. They are collected and fetched together, largest first.'
        Destination      = 'The folder to write the files to. It is created if missing. Under a file, on a pseudo file system (proc, sysfs) or on a read-only mount it is an error that says which, before any request.'
        ThrottleLimit    = 'The most transfers running at once. Default: 4.'
        Extract          = 'Expands .bz2 files after download, in strict size order (largest first), overlapping with the downloads still running.'
        KeepCompressed   = 'With -Extract, keeps the .bz2 file after its verified extraction (by default it is deleted).'
        Force            = 'Fetches (and extracts) files again even when they are already complete at the destination; partial files are discarded.'
        NoWait           = 'Another Start-BulkFetch or Expand-BulkFile holding the destination folder''s lock: fail at once with an InUse error naming its owner (process, host, start time) instead of waiting for it. Without it the command waits, with progress, until that run ends; a lock left by a killed run is taken over at once.'
        RetryCount       = 'Failed attempts in a row without progress allowed per transfer before it fails. An attempt that made progress does not count. Default: 5.'
        MinimumFreeSpace = 'Bytes to keep free on the destination''s file system: the plan check reserves them, and writes pause while less is free. Default: 256 MB.'
        LowSpaceTimeout  = 'How long writes may stay paused for lack of space before the run fails. Default: 30 minutes.'
        StallTimeout     = 'A transfer that receives no byte for this long (2 minutes) is cut and retried, and says so: "no byte came for N s from s3://bucket/key (at byte N of M)". A cut that made progress does not use up -RetryCount.'
        Credential       = 'An access key (user name) and secret key (password) for buckets that are not public. Without it the credentials come, as AWS users keep them, from -ProfileName, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN), else the profile AWS_PROFILE names; with none of them requests are anonymous, as the public CourtListener bucket allows. -Verbose says which was used; no key, secret or token is ever written anywhere.'
        ProfileName      = 'A profile of the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) whose keys and session token sign the requests. Not with -Credential.'
        WhatIf           = 'Shows which objects would be downloaded, without downloading anything.'
        Confirm          = 'Asks before each object is downloaded.'
    }
    Inputs      = @('BulkData.Engine.Manifest.ManifestEntry')
    Outputs     = @('BulkData.Engine.DumpFiles.BulkFile')
    Links       = @('about_BulkData', 'Get-BulkManifest', 'Test-BulkDiskSpace', 'Expand-BulkFile', 'Invoke-BulkImport')
    Online      = 'README.md#start-bulkfetch'
    Examples    = @(
        @{
            Title   = 'Fetch the newest dump'
            Code    = 'Get-BulkManifest | Start-BulkFetch -Destination /srv/bulk-data'
            Remarks = 'Downloads every file of the newest dump, largest first, four at a time, keeping them compressed for Invoke-BulkImport.'
        }
        @{
            Title   = 'Fetch, import'
            Code    = 'Get-BulkManifest | Start-BulkFetch -Destination /srv/bulk-data | Invoke-BulkImport'
            Remarks = 'The whole run in one line.'
        }
        @{
            Title   = 'Fetch and expand, keeping 20 GB free'
            Code    = 'Get-BulkManifest -Dataset opinions, dockets | Start-BulkFetch -Destination /srv/bulk-data -Extract -MinimumFreeSpace 20GB -Verbose'
            Remarks = 'Expands the largest file first while the others still download, and logs each change of state.'
        }
        @{
            Title   = 'A mirror that needs keys, with more patience on a poor line'
            Code    = 'Get-BulkManifest -EndpointUrl http://mirror:9000 -Bucket bulk -Credential $cred | Start-BulkFetch -Destination ./bulk -Credential $cred -RetryCount 10 -LowSpaceTimeout (New-TimeSpan -Hours 2)'
            Remarks = 'Uses the given access key pair for both the listing and the downloads.'
            Runnable = $false
            Reason   = 'Needs a private mirror at http://mirror:9000 and its access keys in $cred.'
        }
        @{
            Title   = 'What would be fetched'
            Code    = 'Get-BulkManifest | Start-BulkFetch -Destination /srv/bulk-data -WhatIf'
            Remarks = 'Lists the downloads without making them.'
        }
    )
}
