#!/usr/bin/env pwsh
<#
.SYNOPSIS
Import benchmark: Invoke-BulkImport of an opinions-like .csv.bz2 (lbzip2) into an existing table, against the
publisher's way (lbzip2 -d -k to disk, psql \copy, delete) and against lbzip2 -dc | psql \copy from stdin.

.DESCRIPTION
Runs the three contenders alternately (the order rotates each run), -Runs times, prints medians, ratios
(ours / theirs: <= 1.0 means ours is as fast or faster) and the peak memory (VmHWM) of the pwsh process that
runs Invoke-BulkImport. Every run starts from an empty table and checks the row count. Uses -ConnectionString,
or starts the test services (tests/TestServices.psm1) for the run.

.EXAMPLE
dotnet pwsh ./bench/import.ps1 -ModulePath out/BulkData/BulkData.psd1 -SizeMB 300 -Runs 5
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $ConnectionString,
    [ValidateRange(1, 50)] [int] $Runs = 5,
    [ValidateRange(1, 10000)] [int] $SizeMB = 300,
    [string] $WorkDir = (Join-Path ([IO.Path]::GetTempPath()) 'bulkdata-bench'),
    [string] $ResultsPath = (Join-Path $PSScriptRoot '../out/bench-import.md'),
    # A second build of the module: Invoke-BulkImport also runs with it, alternating, in the same run.
    [string] $BaselineModulePath
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$Cores = [Environment]::ProcessorCount
$Report = [System.Collections.Generic.List[string]]::new()
function Write-Report([string] $line = '') { Write-Host $line; $Report.Add($line) }
. (Join-Path $PSScriptRoot 'Common.ps1')

$server = Initialize-BenchServer $ConnectionString; $ConnectionString = $server.ConnectionString; $services = $server.Services

try {
    $db = 'bench_import'
    $env:PGDATABASE = 'postgres'
    & psql -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" | Out-Null
    $env:PGDATABASE = $db
    & psql -q -v ON_ERROR_STOP=1 -c 'CREATE TABLE public.bench_opinion (id bigint, date_filed date, plain_text text, extracted boolean, page_count integer)' | Out-Null
    if ($LASTEXITCODE) { throw 'psql failed to create the table' }

    # Data: the opinions-like generator of bench/OpinionsText.cs with a header row, compressed by lbzip2 -9.
    $dir = Join-Path $WorkDir "import-$SizeMB"
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    $csv = Join-Path $dir 'opinions-2026-09-30.csv'
    $bz2 = "$csv.bz2"
    if (-not (Test-Path $bz2)) {
        Write-Host "Generating $SizeMB MB of opinions-like CSV"
        Add-Type -Path (Join-Path $PSScriptRoot 'OpinionsText.cs')
        $body = "$csv.body"
        [BenchOpinionsText]::Write($body, [long]$SizeMB * 1MB, 42)
        & sh -c "{ printf 'id,date_filed,plain_text,extracted,page_count\n'; cat '$body'; } | lbzip2 -9 -n $Cores > '$bz2.tmp' && mv '$bz2.tmp' '$bz2' && rm '$body'"
        if ($LASTEXITCODE) { throw 'lbzip2 failed' }
    }
    $rows = [long](& sh -c "lbzip2 -dc '$bz2' | psql -qAt -c 'BEGIN' -c '\copy public.bench_opinion FROM STDIN WITH (FORMAT csv, HEADER)' -c 'SELECT count(*) FROM public.bench_opinion' -c 'ROLLBACK'" | Select-Object -Last 1)
    $csvBytes = [long](& sh -c "lbzip2 -dc '$bz2' | wc -c")
    $bz2Bytes = (Get-Item $bz2).Length

    $copy = "\copy public.bench_opinion FROM '$csv' WITH (FORMAT csv, HEADER)"
    function Measure-OurImport([string] $Module) {
        $file = Join-Path $dir 'child.ps1'
        Set-Content $file @"
`$ErrorActionPreference = 'Stop'
Import-Module '$Module'
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$r = Invoke-BulkImport -Path '$bz2' -ConnectionString '$($ConnectionString -replace "'", "''");Database=$db' -TableMap @{ opinions = 'public.bench_opinion' } -Dialect Rfc4180 -Force
`$sw.Stop()
if (`$r.Status -ne 'Imported') { throw "status `$(`$r.Status): `$(`$r.Error)" }
`$hwm = (Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D', ''
@{ Seconds = `$sw.Elapsed.TotalSeconds; PeakMB = [double]`$hwm / 1024; Rows = `$r.Rows } | ConvertTo-Json -Compress
"@
        # Timed from outside: pwsh's start and the module import count, as the issue's goal says ("pwsh start included").
        $whole = [Diagnostics.Stopwatch]::StartNew()
        $out = & ([Environment]::ProcessPath) (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $file
        $whole.Stop()
        if ($LASTEXITCODE) { throw "Invoke-BulkImport run failed: $out" }
        $m = ($out | Select-Object -Last 1) | ConvertFrom-Json
        [pscustomobject]@{ Seconds = $whole.Elapsed.TotalSeconds; CmdletSeconds = $m.Seconds; PeakMB = $m.PeakMB }
    }

    $contenders = [ordered]@{
        'Invoke-BulkImport' = { Measure-OurImport $ModulePath }
        'lbzip2 -d -k, psql \copy, rm' = {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            & sh -c "lbzip2 -d -k -f -n $Cores '$bz2' && psql -q -v ON_ERROR_STOP=1 -c `"$($copy -replace '"', '\"')`" && rm '$csv'"
            if ($LASTEXITCODE) { throw 'publisher way failed' }
            [pscustomobject]@{ Seconds = $sw.Elapsed.TotalSeconds; PeakMB = 0 }
        }
        'lbzip2 -dc | psql \copy stdin' = {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            & sh -c "lbzip2 -dc -n $Cores '$bz2' | psql -q -v ON_ERROR_STOP=1 -c '\copy public.bench_opinion FROM STDIN WITH (FORMAT csv, HEADER)'"
            if ($LASTEXITCODE) { throw 'pipe failed' }
            [pscustomobject]@{ Seconds = $sw.Elapsed.TotalSeconds; PeakMB = 0 }
        }
    }

    if ($BaselineModulePath) { $contenders.Insert(1, 'Invoke-BulkImport (baseline build)', { Measure-OurImport (Resolve-Path $BaselineModulePath).Path }) }
    $names = @($contenders.Keys)
    $times = @{}; $peak = 0.0; $cmdletTimes = [System.Collections.Generic.List[double]]::new()
    foreach ($n in $names) { $times[$n] = [System.Collections.Generic.List[double]]::new() }
    for ($run = 0; $run -lt $Runs; $run++) {
        $order = for ($i = 0; $i -lt $names.Count; $i++) { $names[($i + $run) % $names.Count] }
        foreach ($name in $order) {
            # Each contender starts from an empty table (not timed).
            & psql -q -c 'TRUNCATE public.bench_opinion' | Out-Null
            $m = & $contenders[$name]
            $count = [long](& psql -qAt -c 'SELECT count(*) FROM public.bench_opinion')
            if ($count -ne $rows) { throw "$name left $count rows, expected $rows" }
            $times[$name].Add($m.Seconds)
            if ($name -eq 'Invoke-BulkImport') { $peak = [math]::Max($peak, $m.PeakMB); $cmdletTimes.Add($m.CmdletSeconds) }
            Write-Host ("  run {0}: {1,-32} {2,7:N2} s{3}" -f ($run + 1), $name, $m.Seconds, $(if ($m.PSObject.Properties['CmdletSeconds']) { " (the cmdlet alone {0:N2} s)" -f $m.CmdletSeconds }))
        }
    }

    Write-Report ("### Import: {0:N0} MB CSV ({1:N0} rows) as {2:N1} MB .csv.bz2 (lbzip2 -9), into an existing table, {3} runs, {4} cores" -f ($csvBytes / 1MB), $rows, ($bz2Bytes / 1MB), $Runs, $Cores)
    Write-Report
    $ours = Get-Median $times['Invoke-BulkImport']
    Write-Report '| Contender | Median (s) | Min (s) | Max (s) | MB/s (CSV) | Ours / it |'
    Write-Report '|---|---:|---:|---:|---:|---:|'
    foreach ($name in $names) {
        $med = Get-Median $times[$name]; $st = $times[$name] | Measure-Object -Minimum -Maximum
        Write-Report ('| {0} | {1:N2} | {2:N2} | {3:N2} | {4:N1} | {5:N2} |' -f ($name -replace '\|', '\|'), $med, $st.Minimum, $st.Maximum, ($csvBytes / 1MB / $med), ($ours / $med))
    }
    Write-Report
    Write-Report ("Peak memory (VmHWM) of the pwsh process running Invoke-BulkImport: {0:N0} MB. Ours is the wall time of a fresh pwsh that imports the module and runs the cmdlet (pwsh start included; the cmdlet alone: median {1:N2} s); it includes TRUNCATE, the journal and the row-count check in the same transaction." -f $peak, (Get-Median $cmdletTimes))
    New-Item -ItemType Directory -Force -Path (Split-Path $ResultsPath) | Out-Null
    $Report | Set-Content $ResultsPath
} finally {
    Remove-Item Env:PGPASSWORD -ErrorAction SilentlyContinue
    if ($services) { Stop-BulkTestServices $services }
}
