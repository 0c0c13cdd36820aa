#!/usr/bin/env pwsh
<#
.SYNOPSIS
Streamed import benchmark (issue 13), two ratios in one run:
1. `Get-BulkManifest | Invoke-BulkImport` streamed from the local s3rver against `Invoke-BulkImport -Path` of the
   same file on local disk (goal: at most 1.1).
2. `Get-BulkManifest | Start-BulkFetch | Invoke-BulkImport` through a proxy slower than the import against
   `Start-BulkFetch` alone through the same proxy (goal: at most 1.15: the import overlaps the fetch).
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
    $parts = @(for ($p = 1; $p -le $Files; $p++) { New-Part "part$p" ([long]($SizeMB * 1MB / $Files)) (10 + $p) })
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

    # 2. Over a link slower than the import: the fetch alone against the fetch feeding the import. The rate makes
    # the fetch take about three times the local import of the same bytes.
    $importRate = $bigBytes / $localMedian
    $rate = [long][math]::Max(256KB, $importRate / 3)
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($TestKit, 'proxy', '--upstream', $services.S3Endpoint, '--rate', "$rate", '--log', (Join-Path $work 'proxy.log'))) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.UseShellExecute = $false
    $proxy = [System.Diagnostics.Process]::Start($psi)
    $proxyEndpoint = "http://127.0.0.1:$([int]$proxy.StandardOutput.ReadLine())"
    $entries = @(Get-BulkManifest -EndpointUrl $proxyEndpoint -Bucket $bucket -Region us-east-1 | Where-Object Dataset -like 'part*')
    $fetchOnly = [System.Collections.Generic.List[double]]::new(); $overlap = [System.Collections.Generic.List[double]]::new()
    for ($r = 0; $r -lt $Runs -and -not $StreamedOnly; $r++) {
        $order = if ($r % 2) { 'overlap', 'fetch' } else { 'fetch', 'overlap' }
        foreach ($which in $order) {
            $dest = Join-Path $work "dest-$which-$r"
            $clock = [Diagnostics.Stopwatch]::StartNew()
            if ($which -eq 'fetch') { $null = $entries | Start-BulkFetch -Destination $dest -ThrottleLimit 1 }
            else { $res = $entries | Start-BulkFetch -Destination $dest -ThrottleLimit 1 | Invoke-BulkImport -ConnectionString $cs -Database $db -TableMap $map -Force -WarningAction SilentlyContinue }
            $clock.Stop()
            if ($which -eq 'overlap' -and @($res | Where-Object Status -ne 'Imported').Count) { throw 'overlapped import failed' }
            Remove-Item -Recurse -Force $dest
            if ($which -eq 'fetch') { $fetchOnly.Add($clock.Elapsed.TotalSeconds) } else { $overlap.Add($clock.Elapsed.TotalSeconds) }
        }
    }
    $fetchMedian = if ($StreamedOnly) { [double]::NaN } else { Get-Median $fetchOnly }
    $overlapMedian = if ($StreamedOnly) { [double]::NaN } else { Get-Median $overlap }
    $ratio2 = $overlapMedian / $fetchMedian

    $lines.Add('## Stream: Invoke-BulkImport straight from the bucket, and overlapped with Start-BulkFetch')
    $lines.Add('')
    $lines.Add('| Contender | Median wall (s) | Ratio | Goal |')
    $lines.Add('|---|---:|---:|---:|')
    $lines.Add(('| Invoke-BulkImport -Path (local .csv.bz2, {0}) | {1:N2} | 1.00 | |' -f [BulkData.Engine.ByteSize]::Format($bigBytes), $localMedian))
    $lines.Add(('| Get-BulkManifest \| Invoke-BulkImport (streamed from local s3rver) | {0:N2} | {1:N2} | <= 1.10 {2} |' -f $streamedMedian, $ratio1, $(if ($ratio1 -le 1.1) { 'met' } else { 'NOT met' })))
    $lines.Add(('| Start-BulkFetch alone, {0} files of {1} over {2}/s | {3:N2} | 1.00 | |' -f $Files, [BulkData.Engine.ByteSize]::Format($partBytes), [BulkData.Engine.ByteSize]::Format($rate), $fetchMedian))
    $lines.Add(('| Start-BulkFetch \| Invoke-BulkImport, same link | {0:N2} | {1:N2} | <= 1.15 {2} |' -f $overlapMedian, $ratio2, $(if ($ratio2 -le 1.15) { 'met' } else { 'NOT met' })))
    $lines.Add('')
    $lines.Add("$Runs alternating runs each; -ThrottleLimit 1 for the fetch; the link rate is a third of the local import's rate in this run.")
    $lines | ForEach-Object { Write-Host $_ }
    if ($ResultsPath) { Set-Content -Path $ResultsPath -Value $lines }
    [pscustomobject]@{ StreamedRatio = $ratio1; OverlapRatio = $ratio2; LocalSeconds = $localMedian; StreamedSeconds = $streamedMedian; FetchSeconds = $fetchMedian; OverlapSeconds = $overlapMedian }
} finally {
    if ($proxy -and -not $proxy.HasExited) { $proxy.StandardInput.Close(); if (-not $proxy.WaitForExit(5000)) { $proxy.Kill() } }
    Stop-BulkTestServices $services
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
