#!/usr/bin/env pwsh
<#
.SYNOPSIS
Streamed import benchmark (issue 13), two ratios in one run:
1. `Get-BulkManifest | Invoke-BulkImport` streamed from the local s3rver against `Invoke-BulkImport -Path` of the
   same file on local disk (goal: at most 1.1).
2. `Get-BulkManifest | Start-BulkFetch | Invoke-BulkImport` of a dump (-Files data files, schema, load script)
   through a proxy of a fixed rate (-LinkRate) slower than the import, against `Start-BulkFetch` alone through the
   same proxy (goal: at most 1.15: the import overlaps the fetch). Prints each overlapped run's timeline (when each
   file left Start-BulkFetch, when each result left Invoke-BulkImport) and the tail after the last file's arrival.
Runs alternate between the contenders; medians are compared.

.EXAMPLE
dotnet pwsh ./bench/stream.ps1 -ModulePath ./out/BulkData/BulkData.psd1 -TestKit ./out/testkit/BulkData.TestKit.dll -SizeMB 100 -Runs 3
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestKit,
    [int] $Runs = 3,
    # CSV megabytes of the streamed table (base64 text: bzip2 keeps about 3/4 of it).
    [int] $SizeMB = 100,
    # Files of the overlap part (the same table split in parts, mapped to tables of their own).
    [int] $Files = 4,
    # Bytes per second of the overlap part's link (the test kit's proxy). Fixed, so that the fetch alone takes about
    # 24 s at the default size (30 MiB of .csv.bz2) whatever the machine's load, and stays slower than the import
    # (which did 3 to 15 MiB/s on this 2-core machine, loaded or not).
    [long] $LinkRate = 1.25MB,
    # CSV megabytes of the overlap part's data (split in -Files parts); 0: -SizeMB.
    [int] $OverlapMB = 40,
    [string] $WorkRoot = [IO.Path]::GetTempPath(),
    [string] $ResultsPath,
    # Only the first ratio (streamed against local), for diagnosing it.
    [switch] $StreamedOnly
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$root = Split-Path -Parent $PSScriptRoot
. (Join-Path $PSScriptRoot 'Common.ps1')
$ModulePath = (Resolve-Path $ModulePath).Path
$TestKit = (Resolve-Path $TestKit).Path
Import-Module $ModulePath -Force
Import-Module (Join-Path $root 'tests/TestServices.psm1') -Force
$services = Start-BulkTestServices
$work = Join-Path $WorkRoot "bulkdata-bench-stream-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
New-Item -ItemType Directory -Path $work | Out-Null
$bucket = "bench-stream-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
$proxy = $null
$lines = [System.Collections.Generic.List[string]]::new()
$loadAtStart = ((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ')[0]
try {
    $env:PGPASSWORD = $services.PgPassword
    $cs = $services.PgConnectionString
    Add-Type -Path (Join-Path (Split-Path $ModulePath) 'dependencies/Npgsql.dll')
    function Invoke-Sql([string] $Database, [string] $Sql) {
        $b = [Npgsql.NpgsqlConnectionStringBuilder]::new($cs); $b.Database = $Database; $b.Pooling = $false
        $c = [Npgsql.NpgsqlConnection]::new($b.ConnectionString); $c.Open()
        try { $cmd = $c.CreateCommand(); $cmd.CommandText = $Sql; $cmd.CommandTimeout = 0; $null = $cmd.ExecuteNonQuery() } finally { $c.Dispose() }
    }

    # The files: base64 text (a text column, like opinions' bodies), one big one and $Files parts.
    function New-Part([string] $Name, [long] $Bytes, [int] $Seed) {
        $csv = Join-Path $work "$Name-2026-09-30.csv"
        $w = [IO.StreamWriter]::new($csv); $w.NewLine = "`n"; $w.WriteLine('id,body')
        $rng = [Random]::new($Seed); $buf = [byte[]]::new(3000); $i = 0
        for ($done = 0L; $done -lt $Bytes; $done += 4010) { $i++; $rng.NextBytes($buf); $w.WriteLine("$i,$([Convert]::ToBase64String($buf))") }
        $w.Dispose()
        & lbzip2 -f $csv
        $path = "$csv.bz2"
        & dotnet $TestKit put --endpoint $services.S3Endpoint --bucket $bucket --key "bulk-data/$(Split-Path $path -Leaf)" --file $path --part-size 8388608 | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "Uploading $path failed." }
        $path
    }
    $big = New-Part 'streamed' ($SizeMB * 1MB) 1
    $overlapBytes = if ($OverlapMB -gt 0) { $OverlapMB * 1MB } else { $SizeMB * 1MB }
    $parts = @(for ($p = 1; $p -le $Files; $p++) { New-Part "part$p" ([long]($overlapBytes / $Files)) (10 + $p) })
    $map = @{ 'streamed' = 'public.streamed' }
    for ($p = 1; $p -le $Files; $p++) { $map["part$p"] = "public.part$p" }
    $db = 'bench_stream'
    Invoke-Sql 'postgres' "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    Invoke-Sql 'postgres' "CREATE DATABASE $db"
    foreach ($t in $map.Values) { Invoke-Sql $db "CREATE TABLE $t (id bigint, body text)" }
    $bigBytes = (Get-Item $big).Length
    $partBytes = ($parts | ForEach-Object { (Get-Item $_).Length } | Measure-Object -Sum).Sum

    # 1. Streamed from s3rver against the same file from local disk.
    $local = [System.Collections.Generic.List[double]]::new(); $streamed = [System.Collections.Generic.List[double]]::new()
    $entry = Get-BulkManifest -EndpointUrl $services.S3Endpoint -Bucket $bucket -Region us-east-1 -Dataset streamed
    for ($r = 0; $r -lt $Runs; $r++) {
        $order = if ($r % 2) { 'streamed', 'local' } else { 'local', 'streamed' }
        foreach ($which in $order) {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $res = if ($which -eq 'local') { Invoke-BulkImport -Path $big -ConnectionString $cs -Database $db -TableMap $map -Force -WarningAction SilentlyContinue }
                   else { $entry | Invoke-BulkImport -ConnectionString $cs -Database $db -TableMap $map -Force -WarningAction SilentlyContinue }
            $clock.Stop()
            if (@($res | Where-Object Status -ne 'Imported').Count) { throw "$which import failed: $(@($res | Where-Object Status -ne 'Imported')[0].Error)" }
            if ($which -eq 'local') { $local.Add($clock.Elapsed.TotalSeconds) } else { $streamed.Add($clock.Elapsed.TotalSeconds) }
        }
    }
    Write-Host ("local runs: {0}; streamed runs: {1}" -f ($local -join " "), ($streamed -join " "))
    $localMedian = Get-Median $local; $streamedMedian = Get-Median $streamed
    $ratio1 = $streamedMedian / $localMedian

    # 2. Over a link slower than the import: the fetch alone against the fetch feeding the import, of a dump as the
    # bucket has it (schema and load script beside the data files: without them Invoke-BulkImport collects every file
    # and imports at the end, so nothing would overlap). The link's rate is fixed (-LinkRate), not derived from this
    # run's import, so the fetch's length does not move with the machine's load; the import's own rate is measured
    # in the run (the local import above) and must stay above the link's, or the ratio measures the import.
    $dumpDate = '2026-09-30'
    $schemaPath = Join-Path $work "schema-$dumpDate.sql"
    $loadPath = Join-Path $work "load-bulk-data-$dumpDate.sh"
    $pre = for ($p = 1; $p -le $Files; $p++) { "CREATE TABLE public.part$p (id bigint NOT NULL, body text);" }
    $post = for ($p = 1; $p -le $Files; $p++) { "ALTER TABLE ONLY public.part$p ADD CONSTRAINT part${p}_pkey PRIMARY KEY (id);" }
    Set-Content -Path $schemaPath -Value (@($pre) + @($post)) -Encoding utf8NoBOM
    $copies = for ($p = 1; $p -le $Files; $p++) { "psql --command ""\COPY public.part$p (id, body) FROM '`$BULK_DIR/part$p-$dumpDate.csv' WITH (FORMAT csv, ENCODING utf8, ESCAPE '\', HEADER)"" --host ""`$BULK_DB_HOST"" --dbname ""`$BULK_DB_NAME""" }
    Set-Content -Path $loadPath -Value (@('#!/bin/bash', 'set -e') + @($copies)) -Encoding utf8NoBOM
    foreach ($f in $schemaPath, $loadPath) {
        & dotnet $TestKit put --endpoint $services.S3Endpoint --bucket $bucket --key "bulk-data/$(Split-Path $f -Leaf)" --file $f | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "Uploading $f failed." }
    }

    $importRate = $bigBytes / $localMedian
    $rate = $LinkRate
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($TestKit, 'proxy', '--upstream', $services.S3Endpoint, '--rate', "$rate", '--log', (Join-Path $work 'proxy.log'))) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.UseShellExecute = $false
    $proxy = [System.Diagnostics.Process]::Start($psi)
    $proxyEndpoint = "http://127.0.0.1:$([int]$proxy.StandardOutput.ReadLine())"
    $entries = @(Get-BulkManifest -EndpointUrl $proxyEndpoint -Bucket $bucket -Region us-east-1 | Where-Object { $_.Dataset -like 'part*' -or $_.Kind -ne 'Data' })
    if (@($entries | Where-Object Kind -ne 'Data').Count -ne 2) { throw "The bench dump should list its schema and load script: $($entries.Key -join ', ')" }
    $fetchOnly = [System.Collections.Generic.List[double]]::new(); $overlap = [System.Collections.Generic.List[double]]::new()
    $tails = [System.Collections.Generic.List[double]]::new(); $lastLoads = [System.Collections.Generic.List[double]]::new()
    $timelines = [System.Collections.Generic.List[string]]::new()
    for ($r = 0; $r -lt $Runs -and -not $StreamedOnly; $r++) {
        $order = if ($r % 2) { 'overlap', 'fetch' } else { 'fetch', 'overlap' }
        foreach ($which in $order) {
            $dest = Join-Path $work "dest-$which-$r"
            $runDb = "bench_overlap_$r"
            if ($which -eq 'overlap') { Invoke-Sql 'postgres' "DROP DATABASE IF EXISTS $runDb WITH (FORCE)" }
            # The timeline: when each file leaves Start-BulkFetch and each result leaves Invoke-BulkImport.
            $arrivals = [System.Collections.Generic.List[object]]::new(); $outputs = [System.Collections.Generic.List[object]]::new()
            $clock = [Diagnostics.Stopwatch]::StartNew()
            if ($which -eq 'fetch') { $null = $entries | Start-BulkFetch -Destination $dest -ThrottleLimit 1 }
            else {
                $entries | Start-BulkFetch -Destination $dest -ThrottleLimit 1 | ForEach-Object { $arrivals.Add([pscustomobject]@{ At = $clock.Elapsed.TotalSeconds; File = Split-Path $_.Path -Leaf }); $_ } |
                    Invoke-BulkImport -ConnectionString $cs -Database $runDb -WarningAction SilentlyContinue | ForEach-Object { $outputs.Add([pscustomobject]@{ At = $clock.Elapsed.TotalSeconds; Result = $_ }) }
            }
            $clock.Stop()
            $wall = $clock.Elapsed.TotalSeconds
            if ($which -eq 'overlap') {
                $bad = @($outputs.Result | Where-Object Status -ne 'Imported')
                if ($bad.Count -or @($outputs.Result | Where-Object Table -like 'public.part*').Count -ne $Files) { throw "overlapped import failed: $(@($bad | ForEach-Object { "$($_.Table): $($_.Error)" }) -join '; ')" }
                $lastArrival = ($arrivals | Measure-Object At -Maximum).Maximum
                $lastData = $outputs | Where-Object { $_.Result.Table -like 'public.part*' } | Select-Object -Last 1
                $tails.Add($wall - $lastArrival); $lastLoads.Add($lastData.Result.Duration.TotalSeconds)
                $timelines.Add(('run {0}: arrivals {1}; results {2}; end {3:N2} s' -f ($r + 1),
                    (($arrivals | ForEach-Object { '{0} {1:N2}' -f ($_.File -replace "-$dumpDate.*", ''), $_.At }) -join ', '),
                    (($outputs | ForEach-Object { '{0} {1:N2} (load {2:N2})' -f ($_.Result.Table -replace '^public\.', ''), $_.At, $_.Result.Duration.TotalSeconds }) -join ', '), $wall))
                Invoke-Sql 'postgres' "DROP DATABASE IF EXISTS $runDb WITH (FORCE)"
            }
            Remove-Item -Recurse -Force $dest
            if ($which -eq 'fetch') { $fetchOnly.Add($wall) } else { $overlap.Add($wall) }
        }
    }
    $timelines | ForEach-Object { Write-Host $_ }
    Write-Host ("fetch alone runs: {0}; fetch | import runs: {1}; tails after the last arrival: {2}" -f ($fetchOnly -join ' '), ($overlap -join ' '), ($tails -join ' '))
    $fetchMedian = if ($StreamedOnly) { [double]::NaN } else { Get-Median $fetchOnly }
    $overlapMedian = if ($StreamedOnly) { [double]::NaN } else { Get-Median $overlap }
    $tailMedian = if ($StreamedOnly) { [double]::NaN } else { Get-Median $tails }
    $lastLoadMedian = if ($StreamedOnly) { [double]::NaN } else { Get-Median $lastLoads }
    $ratio2 = $overlapMedian / $fetchMedian

    $lines.Add('## Stream: Invoke-BulkImport straight from the bucket, and overlapped with Start-BulkFetch')
    $lines.Add('')
    $lines.Add('| Contender | Median wall (s) | Ratio | Goal |')
    $lines.Add('|---|---:|---:|---:|')
    $lines.Add(('| Invoke-BulkImport -Path (local .csv.bz2, {0}) | {1:N2} | 1.00 | |' -f [BulkData.Engine.ByteSize]::Format($bigBytes), $localMedian))
    $lines.Add(('| Get-BulkManifest \| Invoke-BulkImport (streamed from local s3rver) | {0:N2} | {1:N2} | <= 1.10 {2} |' -f $streamedMedian, $ratio1, $(if ($ratio1 -le 1.1) { 'met' } else { 'NOT met' })))
    $lines.Add(('| Start-BulkFetch alone, {0} files of {1} (and the schema and load script) over {2}/s | {3:N2} | 1.00 | |' -f $Files, [BulkData.Engine.ByteSize]::Format($partBytes), [BulkData.Engine.ByteSize]::Format($rate), $fetchMedian))
    $lines.Add(('| Start-BulkFetch \| Invoke-BulkImport, same link | {0:N2} | {1:N2} | <= 1.15 {2} |' -f $overlapMedian, $ratio2, $(if ($ratio2 -le 1.15) { 'met' } else { 'NOT met' })))
    $lines.Add('')
    $lines.Add('')
    $lines.Add(('Tail of the overlapped run after its last file left Start-BulkFetch (median): {0:N2} s, of which the last table''s own load (median) {1:N2} s.' -f $tailMedian, $lastLoadMedian))
    $lines.Add(('Link {0}/s (fixed, -LinkRate) against the import''s own rate in this run {1}/s (the local import above): the link is {2:N1} x slower.' -f [BulkData.Engine.ByteSize]::Format($rate), [BulkData.Engine.ByteSize]::Format([long]$importRate), ($importRate / $rate)))
    $lines.Add(("$Runs alternating runs each; -ThrottleLimit 1 for the fetch; load average at the start {0}." -f $loadAtStart))
    $lines | ForEach-Object { Write-Host $_ }
    if ($ResultsPath) { Set-Content -Path $ResultsPath -Value $lines }
    [pscustomobject]@{ StreamedRatio = $ratio1; OverlapRatio = $ratio2; LocalSeconds = $localMedian; StreamedSeconds = $streamedMedian; FetchSeconds = $fetchMedian; OverlapSeconds = $overlapMedian }
} finally {
    if ($proxy -and -not $proxy.HasExited) { $proxy.StandardInput.Close(); if (-not $proxy.WaitForExit(5000)) { $proxy.Kill() } }
    Stop-BulkTestServices $services
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
