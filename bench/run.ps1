#!/usr/bin/env pwsh
<#
.SYNOPSIS
Side-by-side benchmarks of BulkData against its anchors (called by `./build.ps1 bench`).

.DESCRIPTION
Each section builds its data once (cached under -WorkDir), then runs ours and the anchors in the same
run, alternating their order, -Runs times, and prints medians, ratios and the peak memory of the pwsh
process doing our part. Sections: expand (Expand-BulkFile against lbzip2 -d -n <cores> and bzip2 -d),
fetch (Start-BulkFetch against rclone copy --transfers 4, bench/fetch.ps1), import (Invoke-BulkImport from
.csv.bz2 against the publisher's decompress-then-\copy and against lbzip2 -dc | psql \copy, bench/import.ps1),
stream (Get-BulkManifest | Invoke-BulkImport from the local s3rver against the same file from disk, and
Start-BulkFetch | Invoke-BulkImport over a slow link against the fetch alone, bench/stream.ps1),
hostile (Expand-BulkFile on crafted .bz2 files full of false block magics, growing sizes, against bzip2 -d:
time and memory slopes, bench/hostile.ps1),
fulldump (a whole 33-table dump from the real schema into an empty database against pg_restore -j <cores>, the
publisher's load script and the upstream parallel script, bench/fulldump.ps1; -FullDumpMB, at most 3 runs),
soak (one pwsh session, -SoakCycles cycles of manifest, fetch, import and -Force re-import of a small dump: the
slope per cycle of file descriptors, threads, PostgreSQL connections, working set and managed heap after a 40-cycle
warm-up, and the live objects by type that grow, bench/soak.ps1).

.EXAMPLE
dotnet pwsh ./build.ps1 bench
dotnet pwsh ./bench/run.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll -Section expand -Runs 3 -SizeMB 100
dotnet pwsh ./bench/run.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll -Section fulldump -FullDumpMB 40 -Runs 1

.EXAMPLE
git worktree add /tmp/before HEAD~1; (cd /tmp/before && dotnet pwsh ./build.ps1 build)
dotnet pwsh ./bench/run.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll -BaselineModulePath /tmp/before/out/BulkData/BulkData.psd1

Also runs our contender of every section with a second build of the module (here the commit before), alternating
with this one in the same run; its row's "Ours / it" is this build over that one.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $TestKit,
    [string[]] $Section = @('expand', 'fetch', 'import', 'stream', 'hostile', 'fulldump', 'soak'),
    [ValidateRange(1, 50)] [int] $Runs = 5,
    # Size of the opinions-like CSV, in MB (the issue's reference figures are for 300 MB).
    [ValidateRange(1, 10000)] [int] $SizeMB = 300,
    # Size of the full dump of the fulldump section (CSV MB over its 33 tables; bench/fulldump.ps1).
    [ValidateRange(1, 100000)] [int] $FullDumpMB = 400,
    # Cycles of the soak section (bench/soak.ps1; the first 40 are warm-up).
    [ValidateRange(8, 1000)] [int] $SoakCycles = 100,
    [string] $WorkDir = (Join-Path ([IO.Path]::GetTempPath()) 'bulkdata-bench'),
    # Where the markdown results are written (besides the console).
    [string] $ResultsPath = (Join-Path $PSScriptRoot '../out/bench-results.md'),
    # A second build of the module (e.g. of the commit before a change): our contender of each section also runs
    # with it, alternating with -ModulePath's in the same run, and the report shows both and their ratio.
    [string] $BaselineModulePath
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
if ($BaselineModulePath) { $BaselineModulePath = (Resolve-Path $BaselineModulePath).Path }
$Baseline = @{}
if ($BaselineModulePath) { $Baseline.BaselineModulePath = $BaselineModulePath }
$Cores = [Environment]::ProcessorCount
New-Item -ItemType Directory -Force -Path $WorkDir | Out-Null
$script:Report = [System.Collections.Generic.List[string]]::new()

function Write-Report([string] $line = '') {
    Write-Host $line
    $script:Report.Add($line)
}

. (Join-Path $PSScriptRoot 'Common.ps1')

function Get-MachineDescription {
    $cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
    $memGB = [math]::Round(((Get-Content /proc/meminfo | Select-Object -First 1) -replace '\D', '') / 1MB, 1)
    $os = (Get-Content /etc/os-release | Where-Object { $_ -like 'PRETTY_NAME=*' }) -replace 'PRETTY_NAME=|"', ''
    $load = (Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3
    $lbz = (& lbzip2 --version 2>&1 | Select-Object -First 1)
    "$cpu, $Cores cores, $memGB GB RAM, $os, .NET $([Environment]::Version), PowerShell $($PSVersionTable.PSVersion), $lbz; load average before the run: $($load -join ' ')"
}

# ------------------------------------------------------------------ data

function Get-OpinionsCsv {
    <# An opinions-like CSV of -SizeMB MB and its .bz2 made by lbzip2 -9; cached in -WorkDir. #>
    $csv = Join-Path $WorkDir "opinions-bench-$SizeMB.csv"
    $bz2 = "$csv.bz2"
    if (-not (Test-Path $bz2) -or -not (Test-Path $csv)) {
        Write-Host "Generating $SizeMB MB of opinions-like CSV in $csv"
        Add-Type -Path (Join-Path $PSScriptRoot 'OpinionsText.cs')
        [BenchOpinionsText]::Write($csv, [long]$SizeMB * 1MB, 42)
        Remove-Item $bz2 -ErrorAction SilentlyContinue
        & sh -c "lbzip2 -9 -n $Cores -c '$csv' > '$bz2.tmp' && mv '$bz2.tmp' '$bz2'"
        if ($LASTEXITCODE -ne 0) { throw 'lbzip2 failed' }
    }
    [pscustomobject]@{ Csv = $csv; Bz2 = $bz2; CsvBytes = (Get-Item $csv).Length; Bz2Bytes = (Get-Item $bz2).Length }
}

# ------------------------------------------------------------------ sections

function Invoke-ExpandBench {
    $data = Get-OpinionsCsv
    $out = Join-Path $WorkDir 'expand-out'
    New-Item -ItemType Directory -Force -Path $out | Out-Null
    $expanded = Join-Path $out (Split-Path $data.Csv -Leaf)
    $ratio = $data.CsvBytes / $data.Bz2Bytes
    Write-Report ("### Expand: {0:N0} MB CSV, {1:N1} MB as .bz2 from lbzip2 -9 (ratio {2:N2}), {3} runs" -f ($data.CsvBytes / 1MB), ($data.Bz2Bytes / 1MB), $ratio, $Runs)
    Write-Report

    function Measure-OurExpand([string] $Module) {
        $r = Invoke-ChildPwsh @"
`$ErrorActionPreference = 'Stop'
Import-Module '$Module'
`$me = [Diagnostics.Process]::GetCurrentProcess()
`$cpu = `$me.TotalProcessorTime
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$f = Expand-BulkFile -Path '$($data.Bz2)' -Destination '$out' -KeepCompressed -Force
`$sw.Stop()
`$me.Refresh()
`$cpu = (`$me.TotalProcessorTime - `$cpu).TotalSeconds
if (`$f.State -ne 'Extracted') { throw "state `$(`$f.State)" }
`$hwm = (Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D', ''
@{ Seconds = `$sw.Elapsed.TotalSeconds; CpuSeconds = `$cpu; PeakMB = [double]`$hwm / 1024 } | ConvertTo-Json -Compress
"@
        [pscustomobject]@{ Seconds = $r.Seconds; CpuSeconds = $r.CpuSeconds; PeakMB = $r.PeakMB }
    }

    $contenders = [ordered]@{
        'Expand-BulkFile' = { Measure-OurExpand $ModulePath }
        "lbzip2 -d -n $Cores" = { Measure-Shell "lbzip2 -d -n $Cores -c '$($data.Bz2)' > '$expanded'" }
        'bzip2 -d' = { Measure-Shell "bzip2 -d -c '$($data.Bz2)' > '$expanded'" }
    }
    if ($Cores -ne 2) { $contenders.Insert(2, 'lbzip2 -d -n 2', { Measure-Shell "lbzip2 -d -n 2 -c '$($data.Bz2)' > '$expanded'" }) }
    if ($BaselineModulePath) { $contenders.Insert(1, 'Expand-BulkFile (baseline build)', { Measure-OurExpand $BaselineModulePath }) }

    $names = @($contenders.Keys)
    $times = @{}; $cpus = @{}; $peaks = @{}
    foreach ($n in $names) { $times[$n] = [System.Collections.Generic.List[double]]::new(); $cpus[$n] = [System.Collections.Generic.List[double]]::new(); $peaks[$n] = 0.0 }
    for ($run = 0; $run -lt $Runs; $run++) {
        # Rotate the order each run, so that no contender always runs first (or last).
        $order = for ($i = 0; $i -lt $names.Count; $i++) { $names[($i + $run) % $names.Count] }
        foreach ($name in $order) {
            Remove-Item $expanded -ErrorAction SilentlyContinue
            $m = & $contenders[$name]
            if ((Get-Item $expanded).Length -ne $data.CsvBytes) { throw "$name wrote $((Get-Item $expanded).Length) bytes, expected $($data.CsvBytes)" }
            if ($run -eq 0 -and $name -eq 'Expand-BulkFile') {
                & cmp -s $expanded $data.Csv
                if ($LASTEXITCODE -ne 0) { throw 'Expand-BulkFile output differs from the original CSV' }
            }
            $times[$name].Add($m.Seconds)
            $cpus[$name].Add($m.CpuSeconds)
            $peaks[$name] = [math]::Max($peaks[$name], $m.PeakMB)
            Write-Host ("  run {0}: {1,-20} {2,7:N2} s wall {3,7:N2} s CPU  (load {4})" -f ($run + 1), $name, $m.Seconds, $m.CpuSeconds, ((Get-Content /proc/loadavg) -split ' ')[0])
        }
    }
    Remove-Item $expanded -ErrorAction SilentlyContinue

    $ours = Get-Median $times['Expand-BulkFile']
    $oursCpu = Get-Median $cpus['Expand-BulkFile']
    Write-Report '| Contender | Median wall (s) | Min (s) | Max (s) | MB/s (expanded) | Ours / it (wall) | Median CPU (s) | Ours / it (CPU) | Peak RSS (MB) |'
    Write-Report '|---|---:|---:|---:|---:|---:|---:|---:|---:|'
    foreach ($name in $names) {
        $med = Get-Median $times[$name]
        $cpu = Get-Median $cpus[$name]
        $stats = $times[$name] | Measure-Object -Minimum -Maximum
        Write-Report ('| {0} | {1:N2} | {2:N2} | {3:N2} | {4:N1} | {5:N2} | {6:N2} | {7:N2} | {8:N0} |' -f $name, $med, $stats.Minimum, $stats.Maximum, ($data.CsvBytes / 1MB / $med), ($ours / $med), $cpu, ($oursCpu / $cpu), $peaks[$name])
    }
    Write-Report
    Write-Report ('CPU is user + system time (the machine is shared: wall times vary with the other load, CPU time much less). Expand-BulkFile time is the cmdlet''s own wall time in a fresh pwsh (module loaded beforehand); the anchors'' is the whole command. Peak RSS: VmHWM of that pwsh process, and GNU time''s maximum resident size for the anchors. All write the expanded file to {0}.' -f $out)
    Write-Report
}

function Invoke-FetchBench {
    # Start-BulkFetch against `rclone copy --transfers 4`, same objects, same local s3rver (bench/fetch.ps1).
    Write-Report '## Fetch: Start-BulkFetch against rclone copy --transfers 4'
    Write-Report
    $r = & (Join-Path $PSScriptRoot 'fetch.ps1') -ModulePath $ModulePath -TestKit $TestKit -Runs $Runs @Baseline | Select-Object -Last 1
    Write-Report '| Contender | Median wall (s) | Ours / it |'
    Write-Report '|---|---:|---:|'
    Write-Report ('| Start-BulkFetch | {0:N2} | 1.00 |' -f $r.StartBulkFetchMedianSeconds)
    if ($r.BaselineMedianSeconds) { Write-Report ('| Start-BulkFetch (baseline build) | {0:N2} | {1:N2} |' -f $r.BaselineMedianSeconds, ($r.StartBulkFetchMedianSeconds / $r.BaselineMedianSeconds)) }
    Write-Report ('| rclone copy --transfers 4 | {0:N2} | {1:N2} |' -f $r.RcloneMedianSeconds, $r.Ratio)
    Write-Report
    Write-Report ('{0} objects of {1}, {2} alternating runs; goal <= 1.0: {3}.' -f $r.Objects, [BulkData.Engine.ByteSize]::Format($r.ObjectBytes), $r.Runs, $(if ($r.Met) { 'met' } else { 'NOT met' }))
    Write-Report
}

function Invoke-ImportBench {
    # Invoke-BulkImport from .csv.bz2 against the publisher's way and against lbzip2 -dc | psql \copy (bench/import.ps1).
    Write-Report '## Import: Invoke-BulkImport against psql \copy'
    Write-Report
    $part = Join-Path $WorkDir 'import-results.md'
    & (Join-Path $PSScriptRoot 'import.ps1') -ModulePath $ModulePath -Runs $Runs -SizeMB $SizeMB -WorkDir $WorkDir -ResultsPath $part @Baseline | Out-Null
    foreach ($line in Get-Content $part) { $script:Report.Add($line) }
    Write-Report
}

function Invoke-HostileBench {
    # Expand-BulkFile on crafted streams full of false block magics, growing sizes, against bzip2 -d (bench/hostile.ps1).
    $part = Join-Path $WorkDir 'hostile-results.md'
    & (Join-Path $PSScriptRoot 'hostile.ps1') -ModulePath $ModulePath -TestKit $TestKit -Runs ([math]::Min($Runs, 3)) -WorkDir $WorkDir -ResultsPath $part | Out-Null
    foreach ($line in Get-Content $part) { $script:Report.Add($line) }
    Write-Report
}

function Invoke-SoakBench {
    # One session, many cycles of the whole pipeline: handles, connections and memory must stay flat (bench/soak.ps1).
    $part = Join-Path $WorkDir 'soak-results.md'
    & (Join-Path $PSScriptRoot 'soak.ps1') -ModulePath $ModulePath -TestKit $TestKit -Cycles $SoakCycles -WorkDir $WorkDir -ResultsPath $part | Out-Null
    foreach ($line in Get-Content $part) { $script:Report.Add($line) }
    Write-Report
}

# Sections by name, each a function of its own.
$Sections = [ordered]@{
    expand  = { Invoke-ExpandBench }
    fetch   = { Invoke-FetchBench }
    import  = { Invoke-ImportBench }
    hostile = { Invoke-HostileBench }
    soak    = { Invoke-SoakBench }
    # Streamed from the bucket against the same file from disk, and the fetch feeding the import over a slow link
    # against the fetch alone (bench/stream.ps1).
    stream  = { & (Join-Path $PSScriptRoot 'stream.ps1') -ModulePath $ModulePath -TestKit $TestKit -Runs ([math]::Min($Runs, 3)) -SizeMB ([math]::Min($SizeMB, 100)) -ResultsPath (Join-Path $WorkDir 'stream-results.md') | Out-Null; Get-Content (Join-Path $WorkDir 'stream-results.md') | ForEach-Object { $script:Report.Add($_) } }
    # The whole dump into an empty database against pg_restore -j and the publisher's scripts (bench/fulldump.ps1).
    fulldump = { & (Join-Path $PSScriptRoot 'fulldump.ps1') -ModulePath $ModulePath -TestKit $TestKit -Runs ([math]::Min($Runs, 3)) -SizeMB $FullDumpMB -WorkDir $WorkDir -ResultsPath (Join-Path $WorkDir 'fulldump-results.md') | Out-Null; Get-Content (Join-Path $WorkDir 'fulldump-results.md') | ForEach-Object { $script:Report.Add($_) } }
}

Write-Report "## Benchmark run $(Get-Date -AsUTC -Format 'yyyy-MM-dd HH:mm') UTC"
Write-Report
Write-Report "Machine: $(Get-MachineDescription)"
Write-Report
foreach ($name in $Section) {
    if (-not $Sections.Contains($name)) { throw "Unknown section '$name' (known: $($Sections.Keys -join ', '))" }
    & $Sections[$name]
}

New-Item -ItemType Directory -Force -Path (Split-Path $ResultsPath) | Out-Null
$script:Report | Set-Content -Path $ResultsPath
Write-Host "Results written to $ResultsPath"
