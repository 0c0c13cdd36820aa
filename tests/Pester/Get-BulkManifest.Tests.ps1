BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    # A bucket with history: 1,111 objects (as the real one had in October 2026), so two listing pages.
    $script:Bucket = New-TestName 'manifest'
    $listed = Invoke-TestKit listing --endpoint $S3Endpoint --bucket $Bucket --prefix 'bulk-data/' --count 1111
    $script:ObjectCount = [int]$listed
    $script:S3 = @{ EndpointUrl = $S3Endpoint; Bucket = $Bucket }
}

Describe 'Get-BulkManifest' {
    Context 'a listing of more than 1,000 objects' {
        BeforeAll {
            $script:Entries = @(Get-BulkManifest @S3 -Verbose 4>&1 | Tee-Object -Variable script:All | Where-Object { $_ -is [BulkData.Engine.Manifest.ManifestEntry] })
            $script:VerboseText = ($script:All | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
        }

        It 'follows every continuation page' {
            $ObjectCount | Should -Be 1111
            $VerboseText | Should -Match 'page 2'
            $VerboseText | Should -Match '1111 objects listed'
        }

        It 'keeps the newest file of each dataset, from the newest dump' {
            $Entries.Count | Should -Be 11
            ($Entries | Group-Object Dataset | Where-Object Count -gt 1) | Should -BeNullOrEmpty
            $Entries | ForEach-Object { $_.DumpDate | Should -Be ([datetime]'2026-09-30') }
            ($Entries | Where-Object Dataset -eq 'opinions').Key | Should -Be 'bulk-data/opinions-2026-09-30.csv.bz2'
            ($Entries | Where-Object Kind -eq 'Schema').FileName | Should -Be 'schema-2026-10-01.sql'
        }

        It 'sorts largest first, with sizes from the listing' {
            $sizes = $Entries.Size
            $sizes | Should -Be ($sizes | Sort-Object -Descending)
            ($Entries | Where-Object Dataset -eq 'opinions').Size | Should -Be 1000
            ($Entries | Where-Object Dataset -eq 'parentheticals').Size | Should -Be 100
        }

        It 'skips .delta files and classifies each entry' {
            $Entries.FileName | Where-Object { $_ -like '*.delta' } | Should -BeNullOrEmpty
            ($Entries | Where-Object Kind -eq 'Data').Count | Should -Be 10
            $Entries | ForEach-Object { $_.ETag | Should -Match '^[0-9a-f]{32}$' }
        }

        It 'returns every version with -AllVersions' {
            $all = @(Get-BulkManifest @S3 -AllVersions)
            $deltas = [math]::Floor(1111 / 12)
            $all.Count | Should -Be (1111 - $deltas)
            ($all | Where-Object Dataset -eq 'opinions').Count | Should -BeGreaterThan 80
        }

        It 'chooses the newest dump on or before -AsOf' {
            $asOf = @(Get-BulkManifest @S3 -AsOf '2025-12-31')
            $asOf.Count | Should -Be 11
            $asOf | ForEach-Object { $_.DumpDate | Should -Be ([datetime]'2025-12-31') }
            ($asOf | Where-Object Kind -eq 'Schema').FileName | Should -Be 'schema-2026-01-01.sql'
            @(Get-BulkManifest @S3 -AsOf '2025-11-15')[0].DumpDate | Should -Be ([datetime]'2025-09-30')
        }

        It 'filters with -Dataset and -ExcludeDataset wildcards' {
            (Get-BulkManifest @S3 -Dataset 'opinion*', 'courts').Dataset | Should -Be @('opinions', 'opinion-clusters', 'courts')
            (Get-BulkManifest @S3 -Dataset 'opinion*' -ExcludeDataset '*clusters').Dataset | Should -Be @('opinions')
        }

        It 'works with credentials as well as anonymously' {
            $cred = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))
            (Get-BulkManifest @S3 -Credential $cred).Count | Should -Be 11
        }

        It 'formats entries as a readable table' {
            $text = Get-BulkManifest @S3 -Dataset opinions | Out-String -Width 200
            # The table keeps its columns at 80 (Format.Tests.ps1); the file name is in the list view.
            $text | Should -Match 'DumpDate\s+Kind\s+Size\s+Dataset'
            $text | Should -Match '2026-09-30\s+Data\s+1000 B\s+opinions'
            (Get-BulkManifest @S3 -Dataset opinions | Format-List | Out-String) | Should -Match 'FileName\s+:\s+opinions-2026-09-30\.csv\.bz2'
        }
    }

    Context 'stubs: the files of failed exports' {
        BeforeAll {
            # Two dumps published as the publisher does; in the newer one the dockets and opinions exports failed.
            $script:StubBucket = New-TestName 'stubs'
            $script:StubS3 = @{ EndpointUrl = $S3Endpoint; Bucket = $StubBucket }
            $script:Older = Publish-TestDump -Bucket $StubBucket -OutDir (New-TestDirectory) -Extra @('--date', '2024-12-31', '--dockets', '5')
            $script:Newer = Publish-TestDump -Bucket $StubBucket -OutDir (New-TestDirectory) -Extra @('--date', '2025-01-31', '--dockets', '5', '--stub', 'dockets,search_opinion')
        }

        It 'publishes the 14-byte empty bzip2 stream for a failed export' {
            $stub = $Newer.Files | Where-Object Dataset -eq 'dockets'
            $stub.Stub | Should -BeTrue
            $stub.Size | Should -Be 14
            [Convert]::ToHexString([IO.File]::ReadAllBytes($stub.Path)) | Should -Be '425A683917724538509000000000'
        }

        It 'chooses the newest real file of a stubbed dataset instead, warning with both names' {
            $entries = @(Get-BulkManifest @StubS3 -WarningVariable warned -WarningAction SilentlyContinue)
            ($entries | Where-Object Dataset -eq 'dockets').Key | Should -Be 'bulk-data/dockets-2024-12-31.csv.bz2'
            ($entries | Where-Object Dataset -eq 'opinions').Key | Should -Be 'bulk-data/opinions-2024-12-31.csv.bz2'
            ($entries | Where-Object Dataset -eq 'courts').Key | Should -Be 'bulk-data/courts-2025-01-31.csv.bz2'
            $entries | Where-Object IsStub | Should -BeNullOrEmpty
            $text = $warned -join "`n"
            $text | Should -Match ([regex]::Escape("'bulk-data/dockets-2025-01-31.csv.bz2' is a stub (14 bytes"))
            $text | Should -Match ([regex]::Escape("chose 'bulk-data/dockets-2024-12-31.csv.bz2' of 2024-12-31 instead"))
            $text | Should -Match ([regex]::Escape("'bulk-data/opinions-2025-01-31.csv.bz2' is a stub"))
            @($warned | Where-Object { "$_" -match 'is a stub' }).Count | Should -Be 2
        }

        It 'shows the stubs with -IncludeStub' {
            $entries = @(Get-BulkManifest @StubS3 -IncludeStub -WarningAction SilentlyContinue)
            $stubs = @($entries | Where-Object IsStub)
            $stubs.Key | Sort-Object | Should -Be @('bulk-data/dockets-2025-01-31.csv.bz2', 'bulk-data/opinions-2025-01-31.csv.bz2')
            $stubs.Size | Sort-Object -Unique | Should -Be 14
            @(Get-BulkManifest @StubS3 -AllVersions -IncludeStub -WarningAction SilentlyContinue | Where-Object IsStub).Count | Should -Be 2
            @(Get-BulkManifest @StubS3 -AllVersions -WarningAction SilentlyContinue | Where-Object IsStub).Count | Should -Be 0
        }
    }

    Context 'failures give clear errors, not stack traces' {
        It 'an unreachable endpoint' {
            $port = Get-Random -Minimum 20000 -Maximum 30000
            $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $err = { Get-BulkManifest -EndpointUrl "http://127.0.0.1:$port" -Bucket $Bucket -ErrorAction Stop } | Should -Throw -PassThru
            # Nobody is there: a couple of retries (a restarting server is back within seconds), not minutes of backoff.
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 30
            $err.FullyQualifiedErrorId | Should -BeLike 'EndpointUnreachable,*'
            $err.CategoryInfo.Category | Should -Be 'ConnectionError'
            $err.Exception.Message | Should -Match "127\.0\.0\.1:$port"
            $err.Exception.Message | Should -Match $Bucket
        }

        It 'a bucket that does not exist' {
            $err = { Get-BulkManifest -EndpointUrl $S3Endpoint -Bucket 'no-such-bucket-here' -ErrorAction Stop } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'BucketNotFound,*'
            $err.Exception.Message | Should -Match "no-such-bucket-here"
        }

        It 'access denied' {
            $bad = [pscredential]::new('NOT-A-KEY', (ConvertTo-SecureString 'very-secret-value' -AsPlainText -Force))
            $err = { Get-BulkManifest @S3 -Credential $bad -ErrorAction Stop } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'AccessDenied,*'
            $err.CategoryInfo.Category | Should -Be 'PermissionDenied'
            $err.Exception.Message | Should -Not -Match 'very-secret-value'
        }

        It 'an empty listing' {
            $err = { Get-BulkManifest @S3 -Prefix 'nothing-here/' -ErrorAction Stop } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'EmptyListing,*'
            $err.Exception.Message | Should -Match 'nothing-here/'
        }

        It 'a selection that matches nothing' {
            $err = { Get-BulkManifest @S3 -Dataset 'no-such-dataset' -ErrorAction Stop } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'EmptyListing,*'
        }
    }

    Context 'help' {
        It 'documents every parameter and has examples' {
            $help = Get-Help Get-BulkManifest -Full
            $help.Synopsis | Should -Match 'newest file of each dataset'
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 3
            $cmd = Get-Command Get-BulkManifest
            $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
            foreach ($p in $cmd.Parameters.Keys | Where-Object { $_ -notin $common }) {
                ($help.parameters.parameter | Where-Object name -eq $p).description.Text | Should -Not -BeNullOrEmpty -Because "-$p needs help"
            }
        }
    }
}
