# Objects from anywhere (issue 9, item 5): manifests and results that went through Export-Clixml/Import-Clixml or
# Start-Job/Receive-Job, Select-Object projections and [pscustomobject]s bind by property name to Start-BulkFetch,
# Test-BulkDiskSpace, Invoke-BulkImport and Start-NonEssentialService, against the real s3rver and PostgreSQL.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'DockerStandIn.ps1')
    Initialize-TestNpgsql
    $script:Work = New-TestDirectory
    $script:Bucket = New-TestName 'bind'
    $script:SourceDb = 'src_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    Initialize-TestCleanup
    $script:Dirs.Add($script:Work)
    $script:Created.Add($script:SourceDb)
    $script:Dump = Publish-TestDump -Bucket $script:Bucket -OutDir (Join-Path $script:Work 'published') -SourceDb $script:SourceDb

    function Get-Entries([string[]] $Dataset = @('courts', 'people-db-people')) {
        Get-BulkManifest -EndpointUrl $script:S3Endpoint -Bucket $script:Bucket -Region 'us-east-1' -Dataset $Dataset
    }

    function Assert-SameFiles($Entries, [string] $Destination) {
        foreach ($e in $Entries) {
            $published = $script:Dump.Files | Where-Object { (Split-Path $_.Path -Leaf) -eq $e.FileName }
            $local = Join-Path $Destination $e.FileName
            Test-Path $local | Should -BeTrue -Because "$($e.FileName) should have been fetched"
            (Get-FileHash $local -Algorithm SHA256).Hash | Should -Be (Get-FileHash $published.Path -Algorithm SHA256).Hash
        }
    }

    function Roundtrip($Objects) {
        $file = Join-Path $script:Work "$(New-TestName 'clixml').xml"
        $Objects | Export-Clixml -Path $file
        Import-Clixml -Path $file
    }
}

AfterAll {
    Remove-TestCleanup
}

Describe 'Objects from anywhere bind' {
    Context 'Start-BulkFetch' {
        It 'fetches a manifest that went through Export-Clixml and Import-Clixml, byte-identical' {
            $entries = Get-Entries
            $back = @(Roundtrip $entries)
            $back[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.BulkData.Engine.Manifest.ManifestEntry'
            $dest = Join-Path $script:Work 'clixml'
            $files = @($back | Start-BulkFetch -Destination $dest)
            $files.Count | Should -Be 2
            $files.State | Sort-Object -Unique | Should -Be 'Downloaded'
            ($files | Where-Object Dataset -eq 'courts').Verification | Should -Be 'SizeAndMD5' -Because 'the ETag came through the file'
            Assert-SameFiles $entries $dest
        }

        It 'fetches a manifest received from a job' {
            $entries = Receive-Job -Wait -AutoRemoveJob -Job (Start-Job -ArgumentList $script:ModulePath, $script:S3Endpoint, $script:Bucket -ScriptBlock {
                    param($module, $endpoint, $bucket)
                    Import-Module $module
                    Get-BulkManifest -EndpointUrl $endpoint -Bucket $bucket -Region us-east-1 -Dataset courts
                })
            @($entries).Count | Should -Be 1
            $entries.PSObject.TypeNames[0] | Should -Be 'Deserialized.BulkData.Engine.Manifest.ManifestEntry'
            $dest = Join-Path $script:Work 'job'
            $file = $entries | Start-BulkFetch -Destination $dest
            $file.State | Should -Be 'Downloaded'
            Assert-SameFiles (Get-Entries courts) $dest
        }

        It 'fetches Select-Object Key,Size,Bucket,EndpointUrl, learning the ETag from the store' {
            $entries = Get-Entries
            $dest = Join-Path $script:Work 'select'
            $verbose = $( $files = @($entries | Select-Object Key, Size, Bucket, EndpointUrl | Start-BulkFetch -Destination $dest -Verbose) ) 4>&1
            $files.Count | Should -Be 2
            $files.State | Sort-Object -Unique | Should -Be 'Downloaded'
            ($files | Where-Object Dataset -eq 'courts').ETag | Should -Be ($entries | Where-Object Dataset -eq 'courts').ETag
            ($files | Where-Object Dataset -eq 'courts').Verification | Should -Be 'SizeAndMD5'
            ($verbose | ForEach-Object { "$_" }) -join "`n" | Should -Match 'no ETag given; the store reports'
            Assert-SameFiles $entries $dest
        }

        It 'fails a projection whose object is not in the bucket, naming it, and fetches the rest' {
            $dest = Join-Path $script:Work 'missing'
            $good = Get-Entries courts | Select-Object Key, Size, Bucket, EndpointUrl
            $bad = [pscustomobject]@{ Key = 'bulk-data/nothing-2026-09-30.csv.bz2'; Size = 10; Bucket = $script:Bucket; EndpointUrl = $script:S3Endpoint }
            $files = @($good, $bad | Start-BulkFetch -Destination $dest -ErrorVariable errs -ErrorAction SilentlyContinue)
            ($files | Where-Object State -eq 'Downloaded').Dataset | Should -Be 'courts'
            ($files | Where-Object State -eq 'Failed').Key | Should -Be 'bulk-data/nothing-2026-09-30.csv.bz2'
            "$($errs[0])" | Should -Match 'nothing-2026-09-30\.csv\.bz2'
            Test-Path (Join-Path $dest 'nothing-2026-09-30.csv.bz2') | Should -BeFalse
        }

        It 'a missing property is a binding error that names it, and nothing is fetched' -TestCases @(
            @{ Missing = 'Key'; Object = [pscustomobject]@{ Size = 10; Bucket = 'b' } }
            @{ Missing = 'Size'; Object = [pscustomobject]@{ Key = 'bulk-data/courts-2026-09-30.csv.bz2'; Bucket = 'b' } }
        ) {
            $dest = Join-Path $script:Work "no-$Missing"
            $err = $null
            try { $Object | Start-BulkFetch -Destination $dest -ErrorAction Stop } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty
            $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentTransformationError*'
            $err.Exception.Message | Should -Match "no '$Missing' property"
            $err.Exception.Message | Should -Not -Match 'Object reference'
            Test-Path $dest | Should -BeFalse
        }

        It 'refuses a string with a clear error, not a null reference' {
            $err = $null
            try { 'bulk-data/courts.csv.bz2' | Start-BulkFetch -Destination (Join-Path $script:Work 'str') -ErrorAction Stop } catch { $err = $_ }
            $err.Exception.Message | Should -Match 'Cannot use the String'
        }
    }

    Context 'Test-BulkDiskSpace' {
        It 'measures entries from Import-Clixml and [pscustomobject]s as the originals' {
            $entries = Get-Entries
            $path = New-TestDirectory
            $original = $entries | Test-BulkDiskSpace -Path $path
            $fromFile = Roundtrip $entries | Test-BulkDiskSpace -Path $path
            $fromBags = $entries | ForEach-Object { [pscustomobject]@{ Key = $_.Key; Size = $_.Size } } | Test-BulkDiskSpace -Path $path
            foreach ($r in $fromFile, $fromBags) {
                $r.FileCount | Should -Be 2
                $r.RequiredBytes | Should -Be $original.RequiredBytes
            }
            $original.RequiredBytes | Should -Be ($entries | Measure-Object Size -Sum).Sum
            Remove-Item -Recurse -Force $path
        }

        It 'names the missing property' {
            $err = $null
            try { [pscustomobject]@{ Key = 'bulk-data/courts-2026-09-30.csv.bz2' } | Test-BulkDiskSpace -Path $script:Work -ErrorAction Stop } catch { $err = $_ }
            $err.Exception.Message | Should -Match "no 'Size' property"
        }
    }

    Context 'Invoke-BulkImport' {
        It 'imports fetched files that went through Export-Clixml, and [pscustomobject]s with a Path' {
            $dest = Join-Path $script:Work 'import'
            $files = @(Get-BulkManifest -EndpointUrl $script:S3Endpoint -Bucket $script:Bucket -Region us-east-1 | Start-BulkFetch -Destination $dest)
            $back = @(Roundtrip $files)
            $back[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.BulkData.Engine.DumpFiles.BulkFile'
            $db = 'bind_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($db)
            $results = @($back | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue |
                    Where-Object { $_ -is [BulkData.Engine.Import.ImportResult] })
            $results | Where-Object { $_.Status -notin 'Imported', 'Applied' } | Should -BeNullOrEmpty
            [long](Invoke-Sql $db 'SELECT count(*) FROM public.search_court') | Should -Be ([long](Invoke-Sql $script:SourceDb 'SELECT count(*) FROM public.search_court'))
            # The journal recognises the same files (their ETags came through): a second run from [pscustomobject]s skips them.
            $bags = $files | ForEach-Object { [pscustomobject]@{ Path = $_.Path; Dataset = $_.Dataset; ETag = $_.ETag; Kind = "$($_.Kind)" } }
            $again = @($bags | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue |
                    Where-Object { $_ -is [BulkData.Engine.Import.ImportResult] -and $_.Table })
            $again.Count | Should -BeGreaterThan 0
            $again.Status | Sort-Object -Unique | Should -Be 'Skipped'
        }

        It 'warns about a deserialized Failed file and does not import it' {
            $failed = [pscustomobject]@{ Path = (Join-Path $script:Work 'x.csv.bz2'); State = 'Failed'; Error = 'boom' }
            $db = 'bind_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($db)
            $err = $null
            try { $failed | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -WarningVariable warns -WarningAction SilentlyContinue -ErrorAction Stop } catch { $err = $_ }
            "$warns" | Should -Match 'not imported, its fetch failed \(boom\)'
            $err.Exception.Message | Should -Match 'Nothing to import'
        }

        It 'names the missing Path of a [pscustomobject]' {
            $db = 'bind_' + [guid]::NewGuid().ToString('N').Substring(0, 10)
            $errs = $null
            try { $null = [pscustomobject]@{ File = 'x' } | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -ErrorVariable errs -ErrorAction SilentlyContinue } catch { }
            "$($errs[0])" | Should -Match "without a 'Path' property"
            [int](Invoke-Sql 'postgres' "SELECT count(*) FROM pg_database WHERE datname = '$db'") | Should -Be 0
        }
    }

    Context 'Start-NonEssentialService' {
        BeforeAll {
            $script:setup = Start-CourtListenerStandIn
            $script:si = $setup.StandIn
            $script:cl = $setup.Project
        }
        AfterAll { Stop-CourtListenerStandIn $setup }

        It 'starts the services of states that went through Export-Clixml, and of [pscustomobject]s' {
            Reset-CourtListenerStandIn $setup
            $stopped = @(Stop-NonEssentialService -Keep cl-postgresql, cl-redis -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -Confirm:$false)
            $back = @(Roundtrip $stopped)
            $back[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.BulkData.Engine.Services.ServiceState'
            $started = @($back | Start-NonEssentialService -DockerPath $si.Docker)
            @($started.Service | Sort-Object) | Should -Be @($stopped.Service | Sort-Object)
            $states = Get-StandInStates $si
            foreach ($n in $stopped.Service) { $states[$n] | Should -Be 'running' }

            Invoke-StandIn $si -Arguments @('compose', '-f', $cl.ComposeFile[0], 'stop', 'cl-django') | Out-Null
            $one = [pscustomobject]@{ Service = 'cl-django'; ComposeFile = $cl.ComposeFile } | Start-NonEssentialService -DockerPath $si.Docker
            $one.Service | Should -Be 'cl-django'
            (Get-StandInStates $si)['cl-django'] | Should -Be 'running'
        }
    }
}
