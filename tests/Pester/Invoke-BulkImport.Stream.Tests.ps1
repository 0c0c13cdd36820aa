# Issue 13: Get-BulkManifest | Invoke-BulkImport streams each object from the bucket into PostgreSQL (no local file),
# resumes dropped connections inside the open COPY, fails a table whose object changed, keeps a verified copy with
# -KeepDownload, and, fed by Start-BulkFetch, imports while later files still download. Real s3rver and PostgreSQL 15.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'dependencies/Npgsql.dll')
    $script:Work = New-TestDirectory
    $script:Proxies = [System.Collections.Generic.List[object]]::new()
    $script:Created = [System.Collections.Generic.List[string]]::new()
    $script:Bucket = New-TestName 'stream'
    $script:SourceDb = 'src_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $script:Created.Add($script:SourceDb)
    $script:Dump = Publish-TestDump -Bucket $script:Bucket -OutDir (Join-Path $script:Work 'published') -SourceDb $script:SourceDb
    # One object several times the proxy's 8 MB between resets: a table of base64 text (bzip2 keeps about 3/4 of
    # it), multipart like the real large exports, loaded into a table made beforehand (-TableMap bigtext).
    $bigCsv = Join-Path $script:Work 'published/bigtext-2026-09-30.csv'
    $writer = [IO.StreamWriter]::new($bigCsv); $writer.NewLine = "`n"; $writer.WriteLine('id,body')
    $rng = [Random]::new(13); $bytes = [byte[]]::new(3000)
    for ($i = 1; $i -le 7000; $i++) { $rng.NextBytes($bytes); $writer.WriteLine("$i,$([Convert]::ToBase64String($bytes))") }
    $writer.Dispose()
    $bigCsvBytes = (Get-Item $bigCsv).Length
    & lbzip2 -f $bigCsv
    $bigPath = "$bigCsv.bz2"
    $bigETag = "$(Invoke-TestKit put --endpoint $script:S3Endpoint --bucket $script:Bucket --key 'bulk-data/bigtext-2026-09-30.csv.bz2' --file $bigPath --part-size 8388608)".Trim()
    $script:Big = [pscustomobject]@{ Table = 'bigtext'; FileName = 'bigtext-2026-09-30.csv.bz2'; Path = $bigPath; Size = (Get-Item $bigPath).Length; ETag = $bigETag; Kind = 'Data'; CsvBytes = $bigCsvBytes }
    $script:Map = @{ 'bigtext' = 'public.bigtext' }
    $script:Published = @($script:Dump.Files | Where-Object Kind -eq 'Data')
    $script:Data = @(@($script:Big) + $script:Published | Sort-Object Size -Descending)
    $script:AllFiles = @(@($script:Big) + @($script:Dump.Files))

    # Samples the open file descriptors of this process (/proc/self/fd) on a thread of its own, every few ms.
    Add-Type -TypeDefinition @'
using System;
using System.Collections.Concurrent;
using System.IO;
using System.Threading;
public sealed class BulkDataFdSampler : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    public readonly ConcurrentDictionary<string, bool> Seen = new ConcurrentDictionary<string, bool>();
    public int Samples;
    public BulkDataFdSampler()
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                try
                {
                    foreach (var fd in Directory.GetFiles("/proc/self/fd"))
                    {
                        try { var t = new FileInfo(fd).LinkTarget; if (t != null) Seen[t] = true; } catch (IOException) { } catch (UnauthorizedAccessException) { }
                    }
                }
                catch (IOException) { }
                Interlocked.Increment(ref Samples);
                Thread.Sleep(2);
            }
        }) { IsBackground = true };
        _thread.Start();
    }
    public void Dispose() { _stop = true; _thread.Join(); }
}
'@

    # Get-Cs, Invoke-Sql and Export-Table (with -Schema) come from Common.ps1.

    function New-DbName {
        # A database with the big table made beforehand (it is not in the dump's schema; the dump's tables are).
        $n = 'strm_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($n)
        Invoke-Sql 'postgres' "CREATE DATABASE `"$n`"" | Out-Null
        Invoke-Sql $n 'CREATE TABLE public.bigtext (id bigint PRIMARY KEY, body text NOT NULL)' | Out-Null
        $n
    }

    function Assert-SameAsSource([string] $Database, [object[]] $Files = $script:Published) {
        foreach ($f in $Files) { Export-Table $Database $f.Table | Should -BeExactly (Export-Table $script:SourceDb $f.Table) -Because "$($f.Table) equals its source" }
    }

    function Get-Entries([string] $Endpoint = $script:S3Endpoint) {
        Get-BulkManifest -EndpointUrl $Endpoint -Bucket $script:Bucket -Region 'us-east-1'
    }

    function Get-ObjectGets($Proxy, [string] $Name = '') {
        @(Get-Content $Proxy.Log | Where-Object { $_ -match "^GET /$([regex]::Escape($script:Bucket))/bulk-data/$([regex]::Escape($Name))[^?\s]*(\?X-Amz-[^\s]*)? HTTP" })
    }

    $script:Psql = @(Get-Command psql -ErrorAction SilentlyContinue | Select-Object -First 1 -ExpandProperty Source) + @(Get-ChildItem /usr/lib/postgresql/*/bin/psql -ErrorAction SilentlyContinue | ForEach-Object FullName) | Where-Object { $_ } | Select-Object -First 1
}

AfterAll {
    if (-not (Get-Variable -Name Created -Scope Script -ErrorAction SilentlyContinue)) { return }
    foreach ($p in $script:Proxies) { Stop-FaultProxy $p }
    Remove-TestDatabases
    Remove-TmpfsDirectories
    Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue
}

Describe 'Get-BulkManifest | Invoke-BulkImport (streamed from the bucket)' {
    It 'streams every table through a proxy that resets every connection after 8 MB: tables equal to a psql load of the same file, no local file, a re-run skips by ETag' {
        $script:Big.Size | Should -BeGreaterThan (16MB) -Because 'the largest object must cross several resets'
        $script:Data[0].Table | Should -Be 'bigtext'
        $proxy = Start-FaultProxy -ResetAfter 8MB
        $db = New-DbName
        $entries = @(Get-Entries -Endpoint $proxy.Endpoint)

        # Where a stray local file would land: a fresh TMPDIR and working folder (watched, and empty after), and
        # every file descriptor of this process sampled while the import runs.
        $tmp = Join-Path $script:Work 'tmpdir'; $cwd = Join-Path $script:Work 'cwd'
        New-Item -ItemType Directory $tmp, $cwd | Out-Null
        $watcher = [IO.FileSystemWatcher]::new($script:Work); $watcher.IncludeSubdirectories = $true
        $created = [System.Collections.Concurrent.ConcurrentBag[string]]::new()
        $handler = { param($s, $e) $created.Add($e.FullPath) }.GetNewClosure()
        $watcher.add_Created($handler); $watcher.EnableRaisingEvents = $true
        $oldTmp = $env:TMPDIR; $env:TMPDIR = $tmp
        Push-Location $cwd
        $before = [System.Collections.Generic.HashSet[string]]::new([string[]]@(Get-ChildItem /proc/self/fd | ForEach-Object { $_.LinkTarget } | Where-Object { $_ }))
        $sampler = [BulkDataFdSampler]::new()
        try {
            $results = @($entries | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -TableMap $script:Map -WarningAction SilentlyContinue)
        } finally {
            $sampler.Dispose(); Pop-Location; $env:TMPDIR = $oldTmp; $watcher.EnableRaisingEvents = $false; $watcher.Dispose()
        }

        $results | Where-Object Status -ne 'Imported' | ForEach-Object { "$($_.Table): $($_.Error)" } | Should -BeNullOrEmpty
        @($results | Where-Object Table -ne '(schema)').Count | Should -Be $script:Data.Count
        ($results | Where-Object Table -eq '(schema)').File | Should -BeLike "s3://$script:Bucket/bulk-data/schema-*.sql"
        $big = $results | Where-Object Table -eq "public.$($script:Data[0].Table)"
        $big.File | Should -Be "s3://$script:Bucket/bulk-data/$($script:Data[0].FileName)"
        $big.Bytes | Should -Be $script:Data[0].Size
        # Both sides of the stream: bytes received from the bucket (each once, across the resumed GETs), decoded and loaded.
        $big.ReceivedBytes | Should -Be $script:Big.Size
        $big.DecodedBytes | Should -Be $script:Big.CsvBytes
        # The proxy cut the big object's GETs every 8 MB; each was resumed with a ranged GET, inside the one COPY.
        $gets = @(Get-ObjectGets $proxy $script:Data[0].FileName)
        $gets.Count | Should -BeGreaterOrEqual ([math]::Ceiling($script:Data[0].Size / 8MB)) -Because 'one GET per 8 MB at least'

        # No local file of any kind: nothing appeared in the watched folders, and no descriptor of this process
        # opened a regular file other than what was open before (assemblies, the module) during the import.
        @(Get-ChildItem -Recurse -Force $tmp, $cwd) | Should -BeNullOrEmpty
        @($created | Where-Object { $_ -notlike (Join-Path $script:Work 'proxy-*.log') }) | Should -BeNullOrEmpty
        $sampler.Samples | Should -BeGreaterThan 20
        $opened = @($sampler.Seen.Keys | Where-Object { $_.StartsWith('/') -and -not $_.StartsWith('/dev/') -and -not $_.StartsWith('/proc/') -and -not $_.StartsWith('/sys/') -and -not $before.Contains($_) -and $_ -notmatch '\.(dll|so(\.\d+)*|pdb|json|psd1|psm1|ps1xml|xml)$' })
        $opened | Should -BeNullOrEmpty -Because 'a streamed import opens no local file'

        # Equal to a load of the same file by psql (\copy of the decompressed bytes), table by table.
        if ($script:Psql) {
            Invoke-Sql $db 'CREATE SCHEMA psqlload' | Out-Null
            foreach ($f in $script:Data) {
                Invoke-Sql $db "CREATE TABLE psqlload.$($f.Table) (LIKE public.$($f.Table))" | Out-Null
                $header = (& bzip2 -dc $f.Path | Select-Object -First 1)
                $pg = [Npgsql.NpgsqlConnectionStringBuilder]::new($script:PgConnectionString)
                $env:PGHOST = $pg.Host; $env:PGPORT = "$($pg.Port)"; $env:PGUSER = $pg.Username; $env:PGPASSWORD = $pg.Password; $env:PGDATABASE = $db
                $env:BULKDATA_COPY = "\copy psqlload.$($f.Table) ($header) FROM STDIN WITH (FORMAT csv, HEADER, ESCAPE '\')"
                $env:BULKDATA_FILE = $f.Path; $env:BULKDATA_PSQL = $script:Psql
                & bash -c 'bzip2 -dc "$BULKDATA_FILE" | "$BULKDATA_PSQL" -v ON_ERROR_STOP=1 -q -c "$BULKDATA_COPY"' | Out-Null
                $LASTEXITCODE | Should -Be 0 -Because "psql loads $($f.FileName)"
                Export-Table $db $f.Table | Should -BeExactly (Export-Table $db $f.Table 'psqlload') -Because "$($f.Table) streamed equals its psql load"
            }
        } else {
            Set-ItResult -Inconclusive -Because 'psql is not installed: the streamed tables were checked against their source only'
        }

        Assert-SameAsSource $db
        foreach ($v in 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'BULKDATA_COPY', 'BULKDATA_FILE', 'BULKDATA_PSQL') { Remove-Item "env:$v" -ErrorAction SilentlyContinue }

        # The journal holds each object's ETag: a re-run skips every table without reading its object.
        Invoke-Sql $db "SELECT etag FROM bulkdata.import_journal WHERE table_name = 'public.$($script:Data[0].Table)'" | Should -Be $script:Data[0].ETag.Trim('"')
        $getsBefore = @(Get-ObjectGets $proxy).Count
        $again = @($entries | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -TableMap $script:Map -WarningAction SilentlyContinue)
        @($again | Where-Object Table -ne '(schema)' | Where-Object Status -ne 'Skipped') | Should -BeNullOrEmpty
        @(Get-ObjectGets $proxy | Select-Object -Skip $getsBefore | Where-Object { $_ -match '\.csv' }) | Should -BeNullOrEmpty -Because 'skipped tables read no object'
        Stop-FaultProxy $proxy
    }

    It 'fails only the table whose object changed mid-stream (new ETag), naming the object and both ETags; the others load' {
        $victim = $script:Data[0]
        # Slow enough (about 10 s for the object) that the new body lands while its GETs still come, every 2 MB.
        $proxy = Start-FaultProxy -ResetAfter 2MB -Rate 2MB
        $db = New-DbName
        $entries = @(Get-Entries -Endpoint $proxy.Endpoint)
        $old = ($entries | Where-Object FileName -eq $victim.FileName).ETag
        # Another body under the same key, uploaded once the import's load GET of it is under way (its second GET:
        # the first reads the header before any table is emptied).
        $other = Join-Path $script:Work 'other.bin'
        [IO.File]::WriteAllBytes($other, [byte[]]::new(1000))
        $key = "bulk-data/$($victim.FileName)"
        $pattern = "^GET /$script:Bucket/$key"
        $psi = [System.Diagnostics.ProcessStartInfo]::new('bash'); $psi.UseShellExecute = $false
        $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add("n=0; until [ `$(grep -c '$pattern' '$($proxy.Log)') -ge 2 ]; do sleep 0.05; n=`$((n+1)); [ `$n -gt 1200 ] && exit 3; done; sleep 0.3; dotnet '$script:TestKit' put --endpoint '$script:S3Endpoint' --bucket '$script:Bucket' --key '$key' --file '$other' --part-size 0 > /dev/null")
        $replace = [System.Diagnostics.Process]::Start($psi)
        try {
            $results = @($entries | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -TableMap $script:Map -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
            $replace.WaitForExit(); $replace.ExitCode | Should -Be 0
            $new = (Get-Entries | Where-Object FileName -eq $victim.FileName).ETag
            $new | Should -Not -Be $old

            $failed = $results | Where-Object Table -eq "public.$($victim.Table)"
            $failed.Status | Should -Be 'Failed'
            $failed.Error | Should -Match ([regex]::Escape("s3://$script:Bucket/$key"))
            $failed.Error | Should -Match ([regex]::Escape($old))
            $failed.Error | Should -Match ([regex]::Escape($new))
            $failed.Error | Should -Match 'at byte [1-9]' -Because 'it changed mid-stream, after bytes were loaded'
            @($errs | Where-Object { "$_" -match [regex]::Escape($key) }).Count | Should -BeGreaterThan 0
            Invoke-Sql $db "SELECT count(*) FROM public.$($victim.Table)" | Should -Be 0 -Because 'the table was rolled back'
            foreach ($f in $script:Published) { ($results | Where-Object Table -eq "public.$($f.Table)").Status | Should -Be 'Imported' }
            Assert-SameAsSource $db
        } finally {
            # The published body back for the other tests, whatever happened here.
            $replace.WaitForExit()
            $null = Invoke-TestKit put --endpoint $script:S3Endpoint --bucket $script:Bucket --key $key --file $victim.Path --part-size 8388608
        }
        Stop-FaultProxy $proxy
    }

    It '-KeepDownload leaves files byte-identical to the objects, under Start-BulkFetch''s names; a later import of that folder needs no network' {
        $keep = Join-Path $script:Work 'kept'
        $db = New-DbName
        $entries = @(Get-Entries)
        $results = @($entries | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -TableMap $script:Map -KeepDownload $keep -WarningAction SilentlyContinue)
        $results | Where-Object Status -ne 'Imported' | Should -BeNullOrEmpty
        foreach ($f in $script:AllFiles) {
            $path = Join-Path $keep $f.FileName
            Test-Path $path | Should -BeTrue -Because "$($f.FileName) is kept"
            (Get-FileHash $path -Algorithm SHA256).Hash | Should -Be (Get-FileHash $f.Path -Algorithm SHA256).Hash
        }
        @(Get-ChildItem -Force $keep | Where-Object Name -match 'bulkdata-') | Should -BeNullOrEmpty -Because 'no partial or note is left'

        # The kept folder imports on its own (local files only) into another database.
        $db2 = New-DbName
        $local = @(Invoke-BulkImport -Path $keep -ConnectionString $script:PgConnectionString -Database $db2 -TableMap $script:Map -WarningAction SilentlyContinue)
        $local | Where-Object Status -ne 'Imported' | Should -BeNullOrEmpty
        ($local | Where-Object Table -eq "public.$($script:Data[0].Table)").File | Should -Be (Join-Path $keep $script:Data[0].FileName)
        Export-Table $db2 'bigtext' | Should -BeExactly (Export-Table $db 'bigtext')
        Assert-SameAsSource $db2
    }

    It '-KeepDownload with -MinimumFreeSpace: the kept copy and its table pause while the folder''s file system is under the minimum, and go on when space returns' {
        $mount = New-TmpfsDirectory '40m'
        $keep = Join-Path $mount 'kept'
        # About 3 MB free, under the 4 MB minimum: the copy's writes pause; the ballast goes after 4 s.
        $ballast = Join-Path $mount 'ballast'
        & fallocate -l ([long]([IO.DriveInfo]::new($mount).AvailableFreeSpace - 3MB)) $ballast
        $psi = [Diagnostics.ProcessStartInfo]::new('sh'); $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add("sleep 4; rm -f '$ballast'")
        $cleaner = [Diagnostics.Process]::Start($psi)
        $db = New-DbName
        $entry = Get-Entries | Where-Object FileName -eq $script:Big.FileName
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $results = @($entry | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -TableMap $script:Map -KeepDownload $keep -MinimumFreeSpace 4MB -LowSpaceTimeout 00:01:00 -WarningVariable warned -WarningAction SilentlyContinue)
        $clock.Stop()
        $cleaner.WaitForExit()
        $results.Status | Should -Be 'Imported'
        $clock.Elapsed.TotalSeconds | Should -BeGreaterThan 3 -Because 'it waited for the space'
        @($warned | Where-Object { "$_" -like "Writes to '$keep' are paused*-MinimumFreeSpace 4*" }).Count | Should -Be 1
        @($warned | Where-Object { "$_" -like "*'$keep'*resume after a pause*" }).Count | Should -Be 1
        (Get-FileHash (Join-Path $keep $script:Big.FileName) -Algorithm SHA256).Hash | Should -Be (Get-FileHash $script:Big.Path -Algorithm SHA256).Hash
        [int](Invoke-Sql $db 'SELECT count(*) FROM public.bigtext') | Should -Be 7000
        @(Get-ChildItem -Force $keep | Where-Object Name -match 'bulkdata-') | Should -BeNullOrEmpty -Because 'no partial or note is left'
    }

    It '-KeepDownload with -LowSpaceTimeout: a copy that stays under -MinimumFreeSpace fails its table, rolled back, with an error naming the folder; nothing under a final name' {
        # The object (over 16 MB) does not fit in 16 MB with 4 MB kept free: the copy pauses part way, mid-COPY.
        $mount = New-TmpfsDirectory '16m'
        $keep = Join-Path $mount 'kept'
        $db = New-DbName
        $entry = Get-Entries | Where-Object FileName -eq $script:Big.FileName
        $results = @($entry | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -TableMap $script:Map -KeepDownload $keep -MinimumFreeSpace 4MB -LowSpaceTimeout 00:00:02 -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $results.Count | Should -Be 1
        $results[0].Status | Should -Be 'Failed'
        $results[0].Error | Should -BeLike "*Writes to '$keep' stayed paused for lack of space for 2 s (-LowSpaceTimeout)*"
        $results[0].Error | Should -BeLike "*The table is rolled back; the kept copy's partial file stays in that folder*"
        @(Get-ChildItem -File $keep | Where-Object Name -like '*.bulkdata-partial').Count | Should -Be 1 -Because 'what the error says stays, stays'
        @($errs | Where-Object { "$_" -like "*'$keep'*-LowSpaceTimeout*" }).Count | Should -BeGreaterOrEqual 1
        [int](Invoke-Sql $db 'SELECT count(*) FROM public.bigtext') | Should -Be 0 -Because 'the table was rolled back'
        Test-Path (Join-Path $keep $script:Big.FileName) | Should -BeFalse -Because 'nothing half-written is left under the final name'
        @(Get-ChildItem -File $keep | Where-Object Name -notmatch '\.bulkdata-') | Should -BeNullOrEmpty
        # The journal holds nothing for it: with room, the same command loads it (and keeps a whole copy).
        $again = @($entry | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -TableMap $script:Map -KeepDownload (Join-Path $script:Work 'kept-again') -MinimumFreeSpace 1MB -WarningAction SilentlyContinue)
        $again.Status | Should -Be 'Imported'
        [int](Invoke-Sql $db 'SELECT count(*) FROM public.bigtext') | Should -Be 7000
    }

    It 'checks -MinimumFreeSpace and -LowSpaceTimeout as Start-BulkFetch does, and refuses them without -KeepDownload' {
        $entry = Get-Entries | Where-Object FileName -eq $script:Big.FileName
        { $entry | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database (New-DbName) -KeepDownload (Join-Path $script:Work 'neg') -LowSpaceTimeout -00:00:01 } | Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage '*-LowSpaceTimeout cannot be negative*'
        { Get-Entries | Start-BulkFetch -Destination (Join-Path $script:Work 'neg-fetch') -LowSpaceTimeout -00:00:01 } | Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage '*-LowSpaceTimeout cannot be negative*'
        { $entry | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database (New-DbName) -KeepDownload (Join-Path $script:Work 'neg') -MinimumFreeSpace -1 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { $entry | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database (New-DbName) -MinimumFreeSpace 1MB } | Should -Throw -ErrorId 'InvalidArgument*' -ExpectedMessage '*give -KeepDownload too*'
        Test-Path (Join-Path $script:Work 'neg') | Should -BeFalse
        Test-Path (Join-Path $script:Work 'neg-fetch') | Should -BeFalse
    }

    It 'says in the plan and in Test-BulkDiskSpace that a streamed import needs no local space' {
        $steps = @(Get-Entries | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database (New-DbName) -TableMap $script:Map -Plan)
        @($steps | Where-Object Step -eq 'Load').Count | Should -Be $script:Data.Count
        $steps | Where-Object Step -eq 'Load' | ForEach-Object { $_.Detail | Should -Match 'streamed from the bucket, no local space needed' }
        $report = Get-Entries | Test-BulkDiskSpace -Streamed
        $report.RequiredBytes | Should -Be 0
        $report.Streamed | Should -BeTrue
        $report.FileCount | Should -Be $script:AllFiles.Count
        $report.Note | Should -Match 'no local space'
    }

    It 'fed by Start-BulkFetch -ThrottleLimit 1 through a slow proxy: the schema is fetched first, and the first table''s result is written before the last file has arrived' {
        # The published dump alone, over a link slower than the import: the files after the first take about 8 s.
        $later = ($script:Published | Sort-Object Size -Descending | Select-Object -Skip 1 | Measure-Object Size -Sum).Sum
        $proxy = Start-FaultProxy -Rate ([math]::Max(4096, [long]($later / 8)))
        $dest = Join-Path $script:Work 'overlap'
        $db = New-DbName
        $seen = [System.Collections.Generic.List[object]]::new()
        Get-Entries -Endpoint $proxy.Endpoint | Where-Object FileName -ne $script:Big.FileName | Start-BulkFetch -Destination $dest -ThrottleLimit 1 |
            Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -TableMap $script:Map -WarningAction SilentlyContinue |
            ForEach-Object { $seen.Add([pscustomobject]@{ At = [datetime]::UtcNow; Result = $_ }) }

        $gets = @(Get-ObjectGets $proxy)
        $gets[0] | Should -Match '/schema-\d{4}-\d{2}-\d{2}\.sql' -Because 'the schema is the first file fetched'
        $gets[1] | Should -Match '/load-bulk-data-' -Because 'then the load script'
        $largest = $script:Published | Sort-Object Size -Descending | Select-Object -First 1
        $gets[2] | Should -Match ([regex]::Escape($largest.FileName)) -Because 'then data, largest first'

        $seen.Result | Where-Object Status -ne 'Imported' | ForEach-Object { "$($_.Table): $($_.Error)" } | Should -BeNullOrEmpty
        @($seen.Result | Where-Object Table -ne '(schema)').Count | Should -Be $script:Published.Count
        $lastArrived = (Get-ChildItem -File $dest | Where-Object Name -like '*.csv.bz2' | Measure-Object LastWriteTimeUtc -Maximum).Maximum
        $first = $seen | Where-Object { $_.Result.Table -ne '(schema)' } | Select-Object -First 1
        $first.Result.Table | Should -Be "public.$($largest.Table)" -Because 'the largest file arrives first and loads first'
        $first.At | Should -BeLessThan $lastArrived -Because 'its result is written while later files still download'
        # Post-data follows the last table: the schema's result comes last, with every index built.
        $seen[-1].Result.Table | Should -Be '(schema)'
        [int](Invoke-Sql $db "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'") | Should -BeGreaterThan $script:Data.Count
        Assert-SameAsSource $db
        Stop-FaultProxy $proxy
    }

    It 'fed by Start-BulkFetch with -Verify: checks every table of the run, those that arrived after the start too (an orphan in a later table is reported)' {
        $bucket = New-TestName 'strmverify'
        $source = 'src_' + [guid]::NewGuid().ToString('N').Substring(0, 8); $script:Created.Add($source)
        $dump = Publish-TestDump -Bucket $bucket -OutDir (Join-Path $script:Work 'published-orphan') -SourceDb $source -Extra @('--orphans', 'search_citation.cluster_id=1')
        $data = @($dump.Files | Where-Object Kind -eq 'Data' | Sort-Object Size -Descending)
        $data[0].Table | Should -Not -Be 'search_citation' -Because 'the table with the orphan arrives after the first file'
        $db = New-DbName
        $out = @(Get-BulkManifest -EndpointUrl $script:S3Endpoint -Bucket $bucket -Region 'us-east-1' | Start-BulkFetch -Destination (Join-Path $script:Work 'verify-fetch') -ThrottleLimit 1 |
            Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -Verify -WarningAction SilentlyContinue)
        $results = @($out | Where-Object { $_ -is [BulkData.Engine.Import.ImportResult] -and $_.Table -ne '(schema)' })
        $results | Where-Object Status -ne 'Imported' | ForEach-Object { "$($_.Table): $($_.Error)" } | Should -BeNullOrEmpty
        $results.Count | Should -Be $data.Count
        $checks = @($out | Where-Object { $_ -is [BulkData.Engine.Import.ImportVerification] })
        $failed = @($checks | Where-Object { -not $_.Passed })
        $failed.Count | Should -Be 1 -Because 'the one orphan is found, nothing else'
        $failed[0].Check | Should -Be 'Orphans'
        $failed[0].Table | Should -Be 'public.search_citation'
        $failed[0].Count | Should -Be 1
        # Every loaded table got its duplicate-key check, not only the first (planned) one.
        $dupTables = @($checks | Where-Object Check -eq 'DuplicateKeys' | ForEach-Object Table | Sort-Object -Unique)
        $dupTables.Count | Should -BeGreaterOrEqual ([math]::Min(8, $data.Count))
        $dupTables | Should -Contain 'public.search_citation'
    }
}
