# Start-BulkFetch against the real s3rver: byte-identical files, verification, resume through a fault-injecting
# proxy, re-runs without requests, -Force, unsafe keys, the up-front space check, pauses on a small tmpfs, Ctrl+C.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')

    $script:Bucket = New-TestName 'fetch'
    $script:Work = New-TestDirectory
    $script:SourceDir = Join-Path $script:Work 'source'
    New-Item -ItemType Directory -Path $script:SourceDir | Out-Null
    $script:Proxies = [System.Collections.Generic.List[object]]::new()

    function New-RandomFile([string] $Path, [long] $Size, [int] $Seed) {
        $bytes = [byte[]]::new($Size)
        [Random]::new($Seed).NextBytes($bytes)
        [IO.File]::WriteAllBytes($Path, $bytes)
    }

    function Publish-Object([string] $Name, [long] $Size, [int] $Seed, [long] $PartSize = 0, [string] $Bucket = $script:Bucket) {
        $path = Join-Path $script:SourceDir $Name
        if (-not (Test-Path $path)) { New-RandomFile $path $Size $Seed }
        $etag = Invoke-TestKit put --endpoint $script:S3Endpoint --bucket $Bucket --key "bulk-data/$Name" --file $path --part-size $PartSize
        [pscustomobject]@{ Name = $Name; Path = $path; ETag = "$etag".Trim() }
    }

    function Get-S3rverDataDirectory {
        # The s3rver started by build.ps1 for this run: the node process whose command line has '-p <our port>'.
        $port = ([Uri]$script:S3Endpoint).Port
        foreach ($p in Get-Process node -ErrorAction SilentlyContinue) {
            $argv = (Get-Content -Raw "/proc/$($p.Id)/cmdline" -ErrorAction SilentlyContinue) -split "`0"
            $pi = [array]::IndexOf($argv, '-p'); $di = [array]::IndexOf($argv, '-d')
            if ($pi -ge 0 -and $di -ge 0 -and $argv[$pi + 1] -eq "$port") { return $argv[$di + 1] }
        }
        throw "The s3rver process on port $port was not found."
    }

    function Set-MultipartETag([string] $Key, [int] $Parts) {
        # s3rver 3.7.1 gives a multipart upload the MD5 of the whole body as ETag, where S3 gives "<md5 of part md5s>-N".
        # Its stored ETag is set to the S3 form so the server itself lists, serves and matches (If-Match) that ETag.
        $md5File = Join-Path (Get-S3rverDataDirectory) "$script:Bucket/$(Split-Path $Key -Parent)/$(Split-Path $Key -Leaf)._S3rver_object.md5"
        $etag = (Get-Content -Raw $md5File).Trim().Substring(0, 30) + "ab-$Parts"
        Set-Content -Path $md5File -Value $etag -NoNewline
        $etag
    }

    function Get-ObjectGets($Proxy) {
        # GET requests for objects of the test bucket (a listing is GET /bucket?...; an object is GET /bucket/key).
        @(Get-Content $Proxy.Log | Where-Object { $_ -match "^GET /$([regex]::Escape($script:Bucket))/bulk-data/[^?\s]+(\?X-Amz-[^\s]*)? HTTP" })
    }

    function Get-Entries([string] $Endpoint = $script:S3Endpoint, [string] $Bucket = $script:Bucket, [string[]] $Dataset = @('opinions', 'dockets', 'courts', 'schema')) {
        Get-BulkManifest -EndpointUrl $Endpoint -Bucket $Bucket -Region 'us-east-1' -Dataset $Dataset
    }

    function New-Entry([string] $Key, [long] $Size = 10, [string] $ETag = '0123456789abcdef0123456789abcdef') {
        [BulkData.Engine.Manifest.ManifestEntry]@{
            Dataset = 'unsafe'; DumpDate = [datetime]'2026-09-30'; FileDate = [datetime]'2026-09-30'; Key = $Key
            FileName = ($Key -split '[/\\]')[-1]; Size = $Size; ETag = $ETag; LastModified = [datetime]'2026-10-01'
            Kind = 'Data'; Bucket = $script:Bucket; Region = 'us-east-1'; EndpointUrl = $script:S3Endpoint
        }
    }

    function Assert-SameBytes([string] $Expected, [string] $Actual) {
        Test-Path $Actual | Should -BeTrue -Because "$Actual should exist"
        (Get-Item $Actual).Length | Should -Be (Get-Item $Expected).Length
        (Get-FileHash $Actual -Algorithm SHA256).Hash | Should -Be (Get-FileHash $Expected -Algorithm SHA256).Hash
    }

    function Start-ChildFetch {
        # Runs Start-BulkFetch in a child pwsh (for Ctrl+C and for runs watched from outside); output goes to files.
        param([string] $Endpoint, [string] $Destination, [string] $Extra = '', [string[]] $Dataset = @())
        $id = [guid]::NewGuid().ToString('N').Substring(0, 6)
        $script = Join-Path $script:Work "child-$id.ps1"
        $result = Join-Path $script:Work "child-$id.json"
        $datasets = if ($Dataset) { "-Dataset $($Dataset -join ',')" } else { '' }
        @"
`$ErrorActionPreference = 'Continue'
Import-Module '$script:ModulePath'
`$entries = Get-BulkManifest -EndpointUrl '$Endpoint' -Bucket '$script:Bucket' -Region us-east-1 $datasets
try { `$entries | Start-BulkFetch -Destination '$Destination' $Extra -OutVariable out -ErrorVariable errs -WarningVariable warns 3>`$null 4>'$result.verbose' | Out-Null } catch { }
[pscustomobject]@{ Files = @(`$out | Select-Object Path, @{ n = 'State'; e = { `"`$(`$_.State)`" } }, Error); Errors = @(`$errs | ForEach-Object { "`$(`$_.FullyQualifiedErrorId)|`$(`$_.Exception.Message)" }); Warnings = @(`$warns | ForEach-Object { "`$_" }) } | ConvertTo-Json -Depth 4 | Set-Content '$result'
"@ | Set-Content -Path $script
        $psi = [System.Diagnostics.ProcessStartInfo]::new($script:PwshCommand[0])
        foreach ($a in @($script:PwshCommand[1..($script:PwshCommand.Count - 1)]) + @('-NoProfile', '-NonInteractive', '-File', $script)) { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $psi.Environment['NO_COLOR'] = '1'
        $process = [System.Diagnostics.Process]::Start($psi)
        $stdout = $process.StandardOutput.ReadToEndAsync(); $stderr = $process.StandardError.ReadToEndAsync()
        [pscustomobject]@{ Process = $process; Result = $result; Stdout = $stdout; Stderr = $stderr }
    }

    function Wait-Child($Child, [int] $Seconds = 120) {
        if (-not $Child.Process.WaitForExit($Seconds * 1000)) { $Child.Process.Kill($true); throw "The child fetch did not end within $Seconds s." }
        if (-not (Test-Path $Child.Result)) { throw "The child fetch wrote no result. stdout: $($Child.Stdout.Result) stderr: $($Child.Stderr.Result)" }
        Get-Content -Raw $Child.Result | ConvertFrom-Json
    }

    function Wait-Until([scriptblock] $Condition, [int] $Seconds = 60, [string] $What = 'the condition') {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $Seconds s waiting for $What." }
            Start-Sleep -Milliseconds 100
        }
    }

    # The fixture: four objects of different sizes; one is a multipart upload with an S3-style "-N" ETag.
    $script:Objects = @{
        opinions = Publish-Object 'opinions-2026-09-30.csv.bz2' (5MB + 123) 1
        dockets  = Publish-Object 'dockets-2026-09-30.csv.bz2' (3MB + 77) 2 -PartSize 1MB
        courts   = Publish-Object 'courts-2026-09-30.csv.bz2' 100KB 3
        schema   = Publish-Object 'schema-2026-10-01.sql' 2000 4
    }
    $script:Objects.dockets.ETag = Set-MultipartETag 'bulk-data/dockets-2026-09-30.csv.bz2' 4
}

AfterAll {
    foreach ($p in $script:Proxies) { Stop-FaultProxy $p }
    Remove-TmpfsDirectories
    if ($script:Work -and (Test-Path $script:Work)) { Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue }
}

Describe 'Start-BulkFetch' {
    Context 'a plain fetch' {
        It 'downloads every object byte-identical, the schema first then data largest first, and says how each was verified' {
            $dest = Join-Path $script:Work 'plain'
            $entries = Get-Entries
            $verbose = $( $files = $entries | Start-BulkFetch -Destination $dest -ThrottleLimit 1 -Verbose ) 4>&1
            $files.Count | Should -Be 4
            $files.State | Sort-Object -Unique | Should -Be 'Downloaded'
            foreach ($o in $script:Objects.Values) { Assert-SameBytes $o.Path (Join-Path $dest $o.Name) }
            ($files | Where-Object Dataset -eq 'opinions').Verification | Should -Be 'SizeAndMD5'
            ($files | Where-Object Dataset -eq 'courts').Verification | Should -Be 'SizeAndMD5'
            ($files | Where-Object Dataset -eq 'dockets').Verification | Should -Be 'Size' -Because 'a multipart ETag is not an MD5 and s3rver sends no checksum'
            ($files | Where-Object Dataset -eq 'opinions').Path | Should -Be (Join-Path $dest 'opinions-2026-09-30.csv.bz2')
            $started = @($verbose | ForEach-Object { "$_" } | Where-Object { $_ -match ': started \(' } | ForEach-Object { ($_ -split ':')[0] })
            $started | Should -Be @('schema-2026-10-01.sql', 'opinions-2026-09-30.csv.bz2', 'dockets-2026-09-30.csv.bz2', 'courts-2026-09-30.csv.bz2') -Because 'the schema comes first (an import fed by the fetch applies pre-data at once), then data largest first (issue 13)'
            @(Get-ChildItem $dest -Force | Where-Object Name -match 'bulkdata-') | Should -BeNullOrEmpty
            $files[0].PSObject.TypeNames[0] | Should -Be 'BulkData.Engine.DumpFiles.BulkFile'
        }

        It 'signs its requests with -Credential and never shows the secret' {
            $proxy = Start-FaultProxy
            $dest = Join-Path $script:Work 'signed'
            $secret = 'S3RVER'
            $cred = [pscredential]::new('S3RVER', (ConvertTo-SecureString $secret -AsPlainText -Force))
            $all = Get-Entries -Endpoint $proxy.Endpoint -Dataset courts | Start-BulkFetch -Destination $dest -Credential $cred -Verbose *>&1
            $file = $all | Where-Object { $_ -is [BulkData.Engine.DumpFiles.BulkFile] }
            $file.State | Should -Be 'Downloaded'
            Assert-SameBytes $script:Objects.courts.Path (Join-Path $dest $script:Objects.courts.Name)
            @(Get-ObjectGets $proxy | Where-Object { $_ -match 'X-Amz-Signature=' }).Count | Should -Be 1 -Because 'the object is read with a presigned (SigV4) URL'
            ($all | Where-Object { $_ -isnot [BulkData.Engine.DumpFiles.BulkFile] } | ForEach-Object { "$_" }) -join "`n" | Should -Not -Match 'X-Amz-Signature|SecretKey'
            Stop-FaultProxy $proxy
        }

        It 'does nothing with -WhatIf' {
            $dest = Join-Path $script:Work 'whatif'
            $files = Get-Entries | Start-BulkFetch -Destination $dest -WhatIf
            $files | Should -BeNullOrEmpty
            Test-Path $dest | Should -BeFalse
        }
    }

    Context 'idempotent re-runs' {
        It 'skips complete files without a single GET, and -Force fetches them again' {
            $proxy = Start-FaultProxy
            $dest = Join-Path $script:Work 'rerun'
            $entries = Get-Entries -Endpoint $proxy.Endpoint
            $first = $entries | Start-BulkFetch -Destination $dest
            $first.State | Sort-Object -Unique | Should -Be 'Downloaded'
            @(Get-ObjectGets $proxy).Count | Should -Be 4

            $second = $entries | Start-BulkFetch -Destination $dest
            $second.State | Sort-Object -Unique | Should -Be 'Skipped'
            $second.Verification | Sort-Object -Unique | Should -Be 'AlreadyPresent'
            @(Get-ObjectGets $proxy).Count | Should -Be 4 -Because 'a re-run must not download anything'

            $third = $entries | Start-BulkFetch -Destination $dest -Force
            $third.State | Sort-Object -Unique | Should -Be 'Downloaded'
            @(Get-ObjectGets $proxy).Count | Should -Be 8
            foreach ($o in $script:Objects.Values) { Assert-SameBytes $o.Path (Join-Path $dest $o.Name) }
            Stop-FaultProxy $proxy
        }
    }

    Context 'resume and retry' {
        It 'resumes after connections reset mid-body and ends byte-identical; progressing attempts do not use up -RetryCount' {
            $proxy = Start-FaultProxy -ResetAfter 400000
            $dest = Join-Path $script:Work 'resets'
            $entries = Get-Entries -Endpoint $proxy.Endpoint -Dataset opinions, dockets
            $verbose = $( $files = $entries | Start-BulkFetch -Destination $dest -RetryCount 1 -Verbose ) 4>&1
            $files.State | Sort-Object -Unique | Should -Be 'Downloaded'
            Assert-SameBytes $script:Objects.opinions.Path (Join-Path $dest $script:Objects.opinions.Name)
            Assert-SameBytes $script:Objects.dockets.Path (Join-Path $dest $script:Objects.dockets.Name)
            ($files | Where-Object Dataset -eq 'opinions').Verification | Should -Be 'SizeAndMD5'
            $resets = @(Get-Content $proxy.Log | Where-Object { $_ -like 'RESET*' }).Count
            $resets | Should -BeGreaterThan 10 -Because 'every connection was cut after 400,000 bytes'
            $ranged = @($verbose | ForEach-Object { "$_" } | Where-Object { $_ -match 'it made progress, so it does not count' })
            $ranged.Count | Should -BeGreaterThan 10
            @(Get-ChildItem $dest | Where-Object Name -match 'bulkdata-') | Should -BeNullOrEmpty
            Stop-FaultProxy $proxy
        }

        It 'fails a transfer after -RetryCount attempts in a row without progress, keeping nothing under the final name' {
            $proxy = Start-FaultProxy -DropFirst 1000
            $dest = Join-Path $script:Work 'noprogress'
            $entry = Get-Entries -Dataset courts
            $moved = [BulkData.Engine.Manifest.ManifestEntry]@{
                Dataset = $entry.Dataset; DumpDate = $entry.DumpDate; FileDate = $entry.FileDate; Key = $entry.Key; FileName = $entry.FileName
                Size = $entry.Size; ETag = $entry.ETag; LastModified = $entry.LastModified; Kind = $entry.Kind; Bucket = $entry.Bucket
                Region = $entry.Region; EndpointUrl = $proxy.Endpoint
            }
            $files = $moved | Start-BulkFetch -Destination $dest -RetryCount 2 -ErrorVariable errs -ErrorAction SilentlyContinue
            $files.State | Should -Be 'Failed'
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'EndpointUnreachable*'
            $errs[0].Exception.Message | Should -BeLike "*$($entry.Key)*gave up after 3 attempts in a row without progress*"
            @(Get-Content $proxy.Log | Where-Object { $_ -like 'DROP*' }).Count | Should -Be 3
            Test-Path (Join-Path $dest $entry.FileName) | Should -BeFalse
            Stop-FaultProxy $proxy
        }
        It 'cuts a stalled transfer after -StallTimeout, names the idle time and the object, and resumes' {
            $proxy = Start-FaultProxy -ResetAfter 700000 -Resets 1 -Stall
            $dest = Join-Path $script:Work (New-TestName 'stall')
            $clock = [Diagnostics.Stopwatch]::StartNew()
            # Listed directly (a listing through the proxy would take its one stalling connection), read through the proxy.
            $entries = foreach ($e in @(Get-Entries -Dataset opinions)) {
                $h = @{}; foreach ($p in $e.PSObject.Properties) { if ($p.IsSettable) { $h[$p.Name] = $p.Value } }
                $h.EndpointUrl = $proxy.Endpoint
                [BulkData.Engine.Manifest.ManifestEntry]$h
            }
            $out = $entries | Start-BulkFetch -Destination $dest -StallTimeout '00:00:02' -RetryCount 0 -Verbose 4>&1
            $file = @($out | Where-Object { $_ -is [BulkData.Engine.DumpFiles.BulkFile] })
            $file.State | Should -Be 'Downloaded'
            $stalled = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*attempt failed*' })
            $stalled.Count | Should -Be 1
            $stalled[0].Message | Should -Match "no byte came for 2 s from s3://$($script:Bucket)/bulk-data/opinions-2026-09-30\.csv\.bz2 \(at byte [\d,]+ of 5,243,003\)"
            $stalled[0].Message | Should -Match 'it made progress, so it does not count'
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 60
            Assert-SameBytes $script:Objects.opinions.Path (Join-Path $dest $script:Objects.opinions.Name)
            @(Get-Content $proxy.Log | Where-Object { $_ -like 'STALL after*' }).Count | Should -Be 1
            Stop-FaultProxy $proxy
        }

        It 'lists and fetches through a storm of 503 SlowDown longer than -RetryCount allows, waiting at least Retry-After' {
            # The listing: the store's requests follow the same policy (the SDK's own 3 retries are off).
            $storm = Start-FaultProxy -SlowDownFor 12 -RetryAfter 3
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $listed = @(Get-Entries -Endpoint $storm.Endpoint -Dataset opinions, schema)
            $listed.Count | Should -Be 2
            $clock.Elapsed.TotalSeconds | Should -BeGreaterThan 11 -Because 'it waited the storm out'
            @(Get-Content $storm.Log | Where-Object { $_ -like 'SLOWDOWN *' }).Count | Should -BeGreaterOrEqual 3
            Stop-FaultProxy $storm
            # The fetch: GETs answered 503 with Retry-After 3 for 12 s, with -RetryCount 1 (two network failures would end it).
            $proxy = Start-FaultProxy -SlowDownFor 12 -RetryAfter 3
            $entries = foreach ($e in $listed) {
                $h = @{}; foreach ($p in $e.PSObject.Properties) { if ($p.IsSettable) { $h[$p.Name] = $p.Value } }
                $h.EndpointUrl = $proxy.Endpoint
                [BulkData.Engine.Manifest.ManifestEntry]$h
            }
            $dest = Join-Path $script:Work (New-TestName 'slowdown')
            $out = $entries | Start-BulkFetch -Destination $dest -RetryCount 1 -Verbose 4>&1
            $files = @($out | Where-Object { $_ -is [BulkData.Engine.DumpFiles.BulkFile] })
            $files.State | Sort-Object -Unique | Should -Be 'Downloaded'
            Assert-SameBytes $script:Objects.opinions.Path (Join-Path $dest $script:Objects.opinions.Name)
            Assert-SameBytes $script:Objects.schema.Path (Join-Path $dest $script:Objects.schema.Name)
            @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*HTTP 503*asked to slow down*' }).Count | Should -BeGreaterThan 2
            # Retry-After honoured: the 503s for one object are at least 3 s apart.
            $times = @(Get-Content $proxy.Log | Where-Object { $_ -match '^SLOWDOWN (\d+) GET /[^ ]*opinions-' } | ForEach-Object { [int]($_ -split ' ')[1] })
            $times.Count | Should -BeGreaterOrEqual 3
            for ($i = 1; $i -lt $times.Count; $i++) { ($times[$i] - $times[$i - 1]) | Should -BeGreaterOrEqual 2900 }
            Stop-FaultProxy $proxy
        }

        It 'survives a one-minute storm of 503 SlowDown: a listing and fetch in one process and a fetch in another, at once' {
            # Two proxies, each answering every request 503 SlowDown (Retry-After 5) for 60 s from the same moment:
            # a child pwsh lists and fetches through one, this session fetches entries pinned to the other.
            $listStorm = Start-FaultProxy -SlowDownFor 60 -RetryAfter 5
            $fetchStorm = Start-FaultProxy -SlowDownFor 60 -RetryAfter 5
            try {
                $clock = [Diagnostics.Stopwatch]::StartNew()
                $childDest = Join-Path $script:Work (New-TestName 'storm-child')
                $child = Start-ChildFetch -Endpoint $listStorm.Endpoint -Destination $childDest -Extra '-RetryCount 1' -Dataset opinions, schema
                $entries = foreach ($e in @(Get-Entries -Dataset opinions, schema)) {
                    $h = @{}; foreach ($p in $e.PSObject.Properties) { if ($p.IsSettable) { $h[$p.Name] = $p.Value } }
                    $h.EndpointUrl = $fetchStorm.Endpoint
                    [BulkData.Engine.Manifest.ManifestEntry]$h
                }
                $dest = Join-Path $script:Work (New-TestName 'storm')
                $files = @($entries | Start-BulkFetch -Destination $dest -RetryCount 1)
                $files.State | Sort-Object -Unique | Should -Be 'Downloaded'
                $clock.Elapsed.TotalSeconds | Should -BeGreaterThan 55 -Because 'the fetch waited the storm out'
                foreach ($o in 'opinions', 'schema') { Assert-SameBytes $script:Objects.$o.Path (Join-Path $dest $script:Objects.$o.Name) }
                $r = Wait-Child $child -Seconds 240
                @($r.Errors).Count | Should -Be 0 -Because "$($r.Errors)"
                @($r.Files.State | Sort-Object -Unique) | Should -Be @('Downloaded')
                foreach ($o in 'opinions', 'schema') { Assert-SameBytes $script:Objects.$o.Path (Join-Path $childDest $script:Objects.$o.Name) }
                $listed = @(Get-Content $listStorm.Log | Where-Object { $_ -match '^SLOWDOWN (\d+) GET [^ ]*list-type=2' } | ForEach-Object { [int]($_ -split ' ')[1] })
                # Every request of the 60 s is refused, so the successes above came after the storm; the logs show
                # both were refused again and again, still well into it (the backoff grows, so not to its last second).
                $listed.Count | Should -BeGreaterOrEqual 4 -Because 'the listing was refused again and again'
                ($listed | Measure-Object -Maximum).Maximum | Should -BeGreaterThan 30000 -Because 'the listing was still asking well into the storm'
                $fetched = @(Get-Content $fetchStorm.Log | Where-Object { $_ -match '^SLOWDOWN (\d+) GET /[^ ]*opinions-' } | ForEach-Object { [int]($_ -split ' ')[1] })
                $fetched.Count | Should -BeGreaterOrEqual 4 -Because 'the fetch was refused again and again'
                ($fetched | Measure-Object -Maximum).Maximum | Should -BeGreaterThan 30000 -Because 'the fetch was still asking well into the storm'
            } finally {
                Stop-FaultProxy $listStorm
                Stop-FaultProxy $fetchStorm
            }
        }

        It 'refuses a -StallTimeout that is not positive' {
            { Get-Entries -Dataset schema | Start-BulkFetch -Destination (Join-Path $script:Work 'stall0') -StallTimeout 0 } | Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage '*-StallTimeout must be positive*'
        }
    }

    Context 'safety' {
        It 'refuses keys that would leave -Destination and writes nothing outside it' -TestCases @(
            @{ Key = 'bulk-data/../../escape-2026-09-30.csv' }
            @{ Key = '../escape-2026-09-30.csv' }
            @{ Key = '/etc/escape-2026-09-30.csv' }
            @{ Key = 'bulk-data\..\..\escape-2026-09-30.csv' }
            @{ Key = 'bulk-data/..' }
            @{ Key = 'C:/escape-2026-09-30.csv' }
        ) {
            param($Key)
            $parent = Join-Path $script:Work (New-TestName 'safety')
            $dest = Join-Path $parent 'inner'
            New-Item -ItemType Directory -Path $dest -Force | Out-Null
            $files = New-Entry $Key | Start-BulkFetch -Destination $dest -ErrorVariable errs -ErrorAction SilentlyContinue
            $files.State | Should -Be 'Failed'
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'UnsafePath*'
            $errs[0].CategoryInfo.Category | Should -Be 'SecurityError'
            $errs[0].Exception.Message | Should -BeLike "*$Key*refused*"
            @(Get-ChildItem $parent -Recurse -Force -File) | Should -BeNullOrEmpty
        }

        It 'still fetches the safe objects of a plan that also holds an unsafe key' {
            $dest = Join-Path $script:Work 'mixed'
            $files = @(Get-Entries -Dataset courts) + @(New-Entry 'bulk-data/../../x-2026-09-30.csv') | Start-BulkFetch -Destination $dest -ErrorAction SilentlyContinue
            ($files | Where-Object Dataset -eq 'courts').State | Should -Be 'Downloaded'
            ($files | Where-Object Dataset -eq 'unsafe').State | Should -Be 'Failed'
            Assert-SameBytes $script:Objects.courts.Path (Join-Path $dest $script:Objects.courts.Name)
        }
    }

    Context 'disk space' {
        It 'reports a shortfall before any download' {
            $proxy = Start-FaultProxy
            $dest = Join-Path (New-TmpfsDirectory '6m') 'dest'
            $entries = Get-Entries -Endpoint $proxy.Endpoint
            { $entries | Start-BulkFetch -Destination $dest -MinimumFreeSpace 1MB } | Should -Throw -ErrorId 'InsufficientSpace*' -ExpectedMessage '*short by*Nothing was downloaded*'
            @(Get-ObjectGets $proxy).Count | Should -Be 0
            Test-Path $dest | Should -BeFalse
            Stop-FaultProxy $proxy
        }

        It 'pauses while free space is under -MinimumFreeSpace and goes on when it returns' {
            $proxy = Start-FaultProxy -Rate 1MB
            $mount = New-TmpfsDirectory '12m'
            $dest = Join-Path $mount 'dest'
            $child = Start-ChildFetch -Endpoint $proxy.Endpoint -Destination $dest -Dataset opinions -Extra '-MinimumFreeSpace 2MB -Verbose'
            $partial = Join-Path $dest "$($script:Objects.opinions.Name).bulkdata-partial"
            Wait-Until { (Test-Path $partial) -and (Get-Item $partial).Length -gt 512KB } -What 'the download to start'
            # Leave about 1 MB free: under the 2 MB minimum, so writes pause.
            $ballast = Join-Path $mount 'ballast'
            & fallocate -l ([long]([IO.DriveInfo]::new($mount).AvailableFreeSpace - 1MB)) $ballast
            Start-Sleep -Seconds 3
            $pausedAt = (Get-Item $partial).Length
            Start-Sleep -Seconds 2
            (Get-Item $partial).Length | Should -Be $pausedAt -Because 'writes are paused while space is low'
            $child.Process.HasExited | Should -BeFalse
            Remove-Item $ballast
            $result = Wait-Child $child
            $result.Files.State | Should -Be 'Downloaded'
            @($result.Warnings | Where-Object { $_ -like '*paused*' }).Count | Should -Be 1
            @($result.Warnings | Where-Object { $_ -like '*resume after a pause*' }).Count | Should -Be 1
            Assert-SameBytes $script:Objects.opinions.Path (Join-Path $dest $script:Objects.opinions.Name)
            Stop-FaultProxy $proxy
        }

        It 'treats a write that fails for lack of space (ENOSPC) as a pause, not a crash' {
            $proxy = Start-FaultProxy -Rate 1MB
            $mount = New-TmpfsDirectory '12m'
            $dest = Join-Path $mount 'dest'
            $child = Start-ChildFetch -Endpoint $proxy.Endpoint -Destination $dest -Dataset opinions -Extra '-MinimumFreeSpace 0'
            $partial = Join-Path $dest "$($script:Objects.opinions.Name).bulkdata-partial"
            Wait-Until { (Test-Path $partial) -and (Get-Item $partial).Length -gt 512KB } -What 'the download to start'
            $ballast = Join-Path $mount 'ballast'
            & dd if=/dev/zero of=$ballast bs=64k 2>$null   # until the file system is full
            Start-Sleep -Seconds 3
            $child.Process.HasExited | Should -BeFalse
            Remove-Item $ballast
            $result = Wait-Child $child
            $result.Files.State | Should -Be 'Downloaded'
            @($result.Warnings | Where-Object { $_ -like '*a write failed for lack of space*' }).Count | Should -BeGreaterOrEqual 1
            Assert-SameBytes $script:Objects.opinions.Path (Join-Path $dest $script:Objects.opinions.Name)
            Stop-FaultProxy $proxy
        }

        It 'fails cleanly after -LowSpaceTimeout, keeping a resumable partial that a re-run completes' {
            $proxy = Start-FaultProxy -Rate 1MB
            $mount = New-TmpfsDirectory '12m'
            $dest = Join-Path $mount 'dest'
            $child = Start-ChildFetch -Endpoint $proxy.Endpoint -Destination $dest -Dataset opinions, courts -Extra '-MinimumFreeSpace 2MB -LowSpaceTimeout 00:00:03 -ThrottleLimit 1 -Verbose'
            $partial = Join-Path $dest "$($script:Objects.opinions.Name).bulkdata-partial"
            Wait-Until { (Test-Path $partial) -and (Get-Item $partial).Length -gt 512KB } -What 'the download to start'
            $ballast = Join-Path $mount 'ballast'
            & fallocate -l ([long]([IO.DriveInfo]::new($mount).AvailableFreeSpace - 1MB)) $ballast
            $result = Wait-Child $child -Seconds 60
            $result.Files.Count | Should -Be 2 -Because 'one BulkFile per input, also for the file the run never reached'
            $result.Files.State | Sort-Object -Unique | Should -Be 'Failed'
            ($result.Files | Where-Object Path -like '*courts*').Error | Should -BeLike '*not finished because the run failed*'
            @($result.Errors | Where-Object { $_ -like 'InsufficientSpace*-LowSpaceTimeout*' }).Count | Should -BeGreaterOrEqual 1
            Test-Path (Join-Path $dest $script:Objects.opinions.Name) | Should -BeFalse
            (Get-Item $partial).Length | Should -BeGreaterThan 0
            Remove-Item $ballast
            $again = Get-Entries -Dataset opinions | Start-BulkFetch -Destination $dest -MinimumFreeSpace 1MB
            $again.State | Should -Be 'Downloaded'
            Assert-SameBytes $script:Objects.opinions.Path (Join-Path $dest $script:Objects.opinions.Name)
            @(Get-ChildItem $dest | Where-Object Name -match 'bulkdata-') | Should -BeNullOrEmpty
            Stop-FaultProxy $proxy
        }
    }

    Context 'extraction' {
        BeforeAll {
            # Real .bz2 files (bzip2 of random bytes, so their sizes are close to the input's): A > B > C > D.
            $script:Compressed = foreach ($spec in @(@{ D = 'xa'; S = 2MB }, @{ D = 'xb'; S = 1MB }, @{ D = 'xc'; S = 900KB }, @{ D = 'xd'; S = 850KB })) {
                $name = "$($spec.D)-2026-09-30.csv"
                $plain = Join-Path $script:SourceDir $name
                New-RandomFile $plain $spec.S ($spec.S % 1000)
                & bzip2 -k -c $plain > "$plain.bz2"
                $o = Publish-Object "$name.bz2" 0 0
                [pscustomobject]@{ Dataset = $spec.D; Plain = $plain; Name = "$name.bz2"; ExpandedName = $name; Size = (Get-Item "$plain.bz2").Length }
            }
        }

        It 'extracts in strict size order, largest first, overlapping with downloads; a smaller file that finished early waits' {
            $proxy = Start-FaultProxy -Rate 1MB
            $dest = Join-Path $script:Work 'extract'
            $entries = Get-Entries -Endpoint $proxy.Endpoint -Dataset xa, xb, xc, xd
            $verbose = @($( $files = $entries | Start-BulkFetch -Destination $dest -Extract -ThrottleLimit 2 -Verbose ) 4>&1 | ForEach-Object { "$_" })
            $files.Count | Should -Be 4
            $files.State | Sort-Object -Unique | Should -Be 'Extracted'
            $files.Verification | Sort-Object -Unique | Should -Be 'Bzip2Crc'
            foreach ($c in $script:Compressed) {
                Assert-SameBytes $c.Plain (Join-Path $dest $c.ExpandedName)
                Test-Path (Join-Path $dest $c.Name) | Should -BeFalse -Because 'the compressed file goes after a verified extraction'
            }
            function IndexOf([string] $pattern) { for ($i = 0; $i -lt $verbose.Count; $i++) { if ($verbose[$i] -like $pattern) { return $i } }; throw "No verbose line like $pattern" }
            $extracting = $script:Compressed | ForEach-Object { IndexOf "$($_.Name): extracting to*" }
            $extracting | Should -Be ($extracting | Sort-Object) -Because 'extraction follows size order, largest first'
            $aStart = IndexOf "$($script:Compressed[0].Name): extracting to*"
            (IndexOf "$($script:Compressed[1].Name): verified*") | Should -BeLessThan $aStart -Because 'the smaller B finished downloading first and waited for A'
            (IndexOf "$($script:Compressed[3].Name): verified*") | Should -BeGreaterThan $aStart -Because 'A is extracted while D still downloads'
            ($files | ForEach-Object Dataset) | Should -Be @('xa', 'xb', 'xc', 'xd') -Because 'extracted files are written in extraction order'
            @(Get-ChildItem $dest | Where-Object Name -match 'bulkdata-') | Should -BeNullOrEmpty

            $before = @(Get-ObjectGets $proxy).Count
            $again = $entries | Start-BulkFetch -Destination $dest -Extract
            $again.State | Sort-Object -Unique | Should -Be 'Skipped'
            @(Get-ObjectGets $proxy).Count | Should -Be $before -Because 'extracted files are not fetched again'
            Stop-FaultProxy $proxy
        }

        It 'keeps the compressed files with -KeepCompressed, and extracts a file already downloaded without fetching it' {
            $proxy = Start-FaultProxy
            $dest = Join-Path $script:Work 'keep'
            $entries = Get-Entries -Endpoint $proxy.Endpoint -Dataset xc, xd
            ($entries | Start-BulkFetch -Destination $dest).State | Sort-Object -Unique | Should -Be 'Downloaded'
            $gets = @(Get-ObjectGets $proxy).Count
            $files = $entries | Start-BulkFetch -Destination $dest -Extract -KeepCompressed
            $files.State | Sort-Object -Unique | Should -Be 'Extracted'
            @(Get-ObjectGets $proxy).Count | Should -Be $gets
            foreach ($c in $script:Compressed[2..3]) {
                Assert-SameBytes $c.Plain (Join-Path $dest $c.ExpandedName)
                Assert-SameBytes "$($c.Plain).bz2" (Join-Path $dest $c.Name)
            }
            Stop-FaultProxy $proxy
        }
    }

    Context 'Ctrl+C' {
        It 'stops within a couple of seconds leaving only resumable partials, and a re-run completes' {
            $proxy = Start-FaultProxy -Rate 1MB
            $dest = Join-Path $script:Work 'ctrlc'
            $child = Start-ChildFetch -Endpoint $proxy.Endpoint -Destination $dest -Dataset opinions, dockets, courts, schema
            $partial = Join-Path $dest "$($script:Objects.opinions.Name).bulkdata-partial"
            Wait-Until { (Test-Path $partial) -and (Get-Item $partial).Length -gt 1MB } -What 'the download to be under way'
            $clock = [Diagnostics.Stopwatch]::StartNew()
            & kill -INT $child.Process.Id
            $child.Process.WaitForExit(15000) | Should -BeTrue
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
            $left = @(Get-ChildItem $dest -File)
            foreach ($f in $left | Where-Object { $_.Name -notmatch '\.bulkdata-partial(\.etag)?$' }) {
                # Small files may have finished before Ctrl+C: a file under its final name must be complete.
                $source = ($script:Objects.Values | Where-Object Name -eq $f.Name).Path
                Assert-SameBytes $source $f.FullName
            }
            @($left | Where-Object Name -like '*.bulkdata-partial').Count | Should -BeGreaterThan 0
            $gets = @(Get-ObjectGets $proxy).Count
            $files = Get-Entries -Endpoint $proxy.Endpoint -Dataset opinions, dockets, courts, schema | Start-BulkFetch -Destination $dest -Verbose 4>&1 | Where-Object { $_ -is [BulkData.Engine.DumpFiles.BulkFile] -or ($_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*resuming at byte*') }
            @($files | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count | Should -BeGreaterThan 0 -Because 'the partials are resumed, not fetched again'
            $done = @($files | Where-Object { $_ -is [BulkData.Engine.DumpFiles.BulkFile] })
            $done.Count | Should -Be 4
            $done.State | Where-Object { $_ -eq 'Failed' } | Should -BeNullOrEmpty
            foreach ($o in $script:Objects.Values) { Assert-SameBytes $o.Path (Join-Path $dest $o.Name) }
            @(Get-ChildItem $dest | Where-Object Name -match 'bulkdata-') | Should -BeNullOrEmpty
            Stop-FaultProxy $proxy
        }
    }

    Context 'two runs into one folder' {
        It 'two fetches started together through a resetting link end byte-identical: one downloads, the other waits and skips' {
            $proxy = Start-FaultProxy -ResetAfter 400000
            $dest = Join-Path $script:Work (New-TestName 'together')
            $a = Start-ChildFetch -Endpoint $proxy.Endpoint -Destination $dest -Extra '-RetryCount 3 -Verbose' -Dataset opinions, dockets, courts, schema
            $b = Start-ChildFetch -Endpoint $proxy.Endpoint -Destination $dest -Extra '-RetryCount 3 -Verbose' -Dataset opinions, dockets, courts, schema
            $ra = Wait-Child $a 240; $rb = Wait-Child $b 240
            foreach ($r in $ra, $rb) {
                $r.Errors | Should -BeNullOrEmpty
                @($r.Files).Count | Should -Be 4 -Because ($r | ConvertTo-Json -Depth 4)
                @($r.Files | Where-Object State -notin 'Downloaded', 'Skipped') | Should -BeNullOrEmpty
            }
            foreach ($o in $script:Objects.Values) { Assert-SameBytes $o.Path (Join-Path $dest $o.Name) }
            # Exactly one of them downloaded everything; the other waited for its lock and then found every file complete.
            $sa = @($ra.Files.State | Sort-Object -Unique) -join ','
            $sb = @($rb.Files.State | Sort-Object -Unique) -join ','
            @($sa, $sb) | Sort-Object | Should -Be @('Downloaded', 'Skipped')
            $waiter = if (($ra.Files.State | Select-Object -First 1) -eq 'Skipped') { $a } else { $b }
            $owner = if ($waiter -eq $a) { $b } else { $a }
            (Get-Content -Raw "$($waiter.Result).verbose") | Should -Match "is in use by Start-BulkFetch \(process $($owner.Process.Id) on host .+, started .+\): waiting"
            @(Get-ChildItem $dest -Force | Where-Object Name -match 'bulkdata-') | Should -BeNullOrEmpty
            Test-Path (Join-Path $dest '.bulkdata.lock.owner') | Should -BeFalse -Because 'the owner note goes with the lock'
            Stop-FaultProxy $proxy
        }

        It 'a second fetch started while the first is mid-file refuses at once with -NoWait, naming the owner; the first ends byte-identical' {
            $proxy = Start-FaultProxy -ResetAfter 400000 -Rate 1MB
            $dest = Join-Path $script:Work (New-TestName 'staggered')
            $first = Start-ChildFetch -Endpoint $proxy.Endpoint -Destination $dest -Extra '-RetryCount 3' -Dataset opinions, dockets, courts, schema
            $partial = Join-Path $dest "$($script:Objects.opinions.Name).bulkdata-partial"
            Wait-Until { (Test-Path $partial) -and (Get-Item $partial).Length -gt 500KB } -What 'the first download to be under way'
            $gets = @(Get-ObjectGets $proxy).Count
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $err = { Get-Entries -Endpoint $proxy.Endpoint | Start-BulkFetch -Destination $dest -NoWait } | Should -Throw -ErrorId 'InUse*' -PassThru
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            $err.CategoryInfo.Category | Should -Be 'ResourceBusy'
            $err.Exception.Message | Should -Match "in use by Start-BulkFetch \(process $($first.Process.Id) on host $([regex]::Escape([Environment]::MachineName)), started .+ UTC\); -NoWait"
            $r = Wait-Child $first 240
            $r.Errors | Should -BeNullOrEmpty
            @($r.Files | Where-Object State -ne 'Downloaded') | Should -BeNullOrEmpty
            foreach ($o in $script:Objects.Values) { Assert-SameBytes $o.Path (Join-Path $dest $o.Name) }
            @(Get-ChildItem $dest -Force | Where-Object Name -match 'bulkdata-') | Should -BeNullOrEmpty
            Stop-FaultProxy $proxy
        }

        It 'a second fetch started while the first is mid-file waits for it, then skips what it finished' {
            $proxy = Start-FaultProxy -Rate 1MB
            $dest = Join-Path $script:Work (New-TestName 'waits')
            $first = Start-ChildFetch -Endpoint $proxy.Endpoint -Destination $dest -Dataset opinions, dockets, courts, schema
            $partial = Join-Path $dest "$($script:Objects.opinions.Name).bulkdata-partial"
            Wait-Until { (Test-Path $partial) -and (Get-Item $partial).Length -gt 500KB } -What 'the first download to be under way'
            $entries = Get-Entries -Endpoint $proxy.Endpoint
            $out = $entries | Start-BulkFetch -Destination $dest -Verbose 4>&1
            $files = @($out | Where-Object { $_ -is [BulkData.Engine.DumpFiles.BulkFile] })
            $files.State | Sort-Object -Unique | Should -Be 'Skipped' -Because 'the second run held off until the first released the folder'
            @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*is in use by Start-BulkFetch (process*waiting*' }).Count | Should -Be 1
            (Wait-Child $first 240).Errors | Should -BeNullOrEmpty
            foreach ($o in $script:Objects.Values) { Assert-SameBytes $o.Path (Join-Path $dest $o.Name) }
            Stop-FaultProxy $proxy
        }

        It 'takes over the lock of a killed run at once and resumes its partial' {
            $proxy = Start-FaultProxy -Rate 2MB
            $dest = Join-Path $script:Work (New-TestName 'killed')
            $child = Start-ChildFetch -Endpoint $proxy.Endpoint -Destination $dest -Dataset opinions
            $partial = Join-Path $dest "$($script:Objects.opinions.Name).bulkdata-partial"
            Wait-Until { (Test-Path $partial) -and (Get-Item $partial).Length -gt 500KB } -What 'the download to be under way'
            & kill -KILL $child.Process.Id
            $child.Process.WaitForExit(15000) | Should -BeTrue
            Test-Path (Join-Path $dest '.bulkdata.lock.owner') | Should -BeTrue -Because 'a killed run leaves its owner note'
            $out = Get-Entries -Dataset opinions | Start-BulkFetch -Destination $dest -NoWait -Verbose 4>&1
            $file = @($out | Where-Object { $_ -is [BulkData.Engine.DumpFiles.BulkFile] })
            $file.State | Should -Be 'Downloaded'
            @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like "*left by a run that no longer runs (Start-BulkFetch (process $($child.Process.Id) *" }).Count | Should -Be 1
            @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*resuming at byte*' }).Count | Should -Be 1
            Assert-SameBytes $script:Objects.opinions.Path (Join-Path $dest $script:Objects.opinions.Name)
            Stop-FaultProxy $proxy
        }
    }
}
