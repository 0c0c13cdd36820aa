@{
    Name        = 'Get-BulkManifest'
    Synopsis    = 'Lists a bulk-data bucket and returns the newest file of each dataset, largest first.'
    Description = @'
Lists the bucket prefix with ListObjectsV2, following every continuation page, and reads each key as a
dump file named <dataset>-<YYYY-MM-DD><extension>. Files ending in .delta are skipped. Keys are grouped by
dataset, the newest file of each dataset is kept (or every file with -AllVersions), and each is classified
as Data (a .csv or .csv.bz2 table export), Schema (schema-<date>.sql) or LoadScript (load-bulk-data-<date>.sh).
A schema or load script dated up to three days after a dump's CSV files belongs to that dump.

A failed export still uploads a file: the 14-byte empty bzip2 stream, with no CSV header at all. Such a
stub (any .bz2 data file smaller than the 37 bytes the smallest bzip2 stream holding one byte takes, or an
empty plain file) is not chosen: for its dataset the newest real file before it is chosen instead, with a
warning naming both. -IncludeStub keeps stubs in the choice and lists them, marked IsStub.

Sizes and ETags come from the listing itself: no request is made per file. The output is sorted by size,
largest first, which is the order Start-BulkFetch works in.

Requests are anonymous unless credentials are given (-Credential, -ProfileName) or found in the standard AWS environment variables. An unreachable endpoint, a missing bucket, access
denied and an empty listing each end in a clear error that names the bucket and the endpoint.
'@
    Parameters  = @{
        Bucket         = 'The bucket to list. Default: com-courtlistener-storage.'
        Prefix         = 'The key prefix to list. Default: bulk-data/.'
        Region         = 'The AWS region of the bucket. Default: us-west-2.'
        EndpointUrl    = 'An S3-compatible endpoint (a mirror, MinIO, a test server), addressed path-style, for example http://127.0.0.1:4568.'
        Credential     = 'An access key (user name) and secret key (password). Without it the credentials come, as AWS users keep them, from -ProfileName, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN), else the profile AWS_PROFILE names; with none of them requests are anonymous, as the public CourtListener bucket allows. -Verbose says which was used; no key, secret or token is ever written anywhere.'
        ProfileName    = 'A profile of the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials; ~/.aws/config''s profiles too) whose aws_access_key_id, aws_secret_access_key and aws_session_token sign the requests. Not with -Credential.'
        Dataset        = 'Keeps only the datasets whose names match these wildcard patterns, for example opinions or financial-*.'
        ExcludeDataset = 'Drops the datasets whose names match these wildcard patterns.'
        AsOf           = 'Chooses the newest dump on or before this date instead of the newest of all.'
        AllVersions    = 'Returns every dump''s file of each dataset, not only the newest.'
        IncludeStub    = 'Keeps stubs (failed exports too small to hold a CSV header, such as the 14-byte empty bzip2 stream) in the choice and lists them with IsStub set, instead of choosing the newest real file of their dataset. Invoke-BulkImport refuses a stub without touching its table.'
    }
    Inputs      = @('None')
    Outputs     = @('BulkData.Engine.Manifest.ManifestEntry')
    Links       = @('about_BulkData', 'Test-BulkDiskSpace', 'Start-BulkFetch', 'Invoke-BulkDataRunbook')
    Online      = 'README.md#get-bulkmanifest'
    Examples    = @(
        @{
            Title   = 'The newest CourtListener dump'
            Code    = 'Get-BulkManifest'
            Remarks = 'Lists com-courtlistener-storage/bulk-data/ anonymously and shows the newest file of each dataset, largest first.'
        }
        @{
            Title   = 'A few datasets, as of a date'
            Code    = "Get-BulkManifest -Dataset 'courts', 'dockets', 'schema', 'load-bulk-data' -AsOf '2024-12-31'"
            Remarks = 'Chooses the files of the dump of 2024-12-31 (or the newest before it) for four datasets.'
        }
        @{
            Title   = 'A mirror or a local test server'
            Code    = "Get-BulkManifest -EndpointUrl 'http://127.0.0.1:4568' -ExcludeDataset 'opinions' | Format-Table Dataset, Size, Key"
            Remarks = 'Lists the same layout on an S3-compatible server, leaving out the 55 GB opinions file.'
        }
        @{
            Title   = 'Which exports failed'
            Code    = "Get-BulkManifest -AllVersions -IncludeStub | Where-Object IsStub | Format-Table Dataset, DumpDate, Size, Key"
            Remarks = 'Lists every stub in the bucket: the files of failed exports, which Get-BulkManifest otherwise passes over for the newest real file of their dataset.'
        }
    )
}
