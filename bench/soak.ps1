#!/usr/bin/env pwsh
<#
.SYNOPSIS
Soak: one pwsh session running -Cycles cycles of Get-BulkManifest, Start-BulkFetch, Invoke-BulkImport and a
-Force re-import of a small dump, reporting the growth per cycle of handles, connections and memory.

.DESCRIPTION
The dump is the test kit's small one (8 tables), published to s3rver; PostgreSQL and s3rver are the test services
(tests/TestServices.psm1), started for the run unless -ConnectionString and -S3Endpoint are given. Each cycle lists
the bucket, fetches the dump into a fresh folder, imports it into one database (the first cycle loads it, the
others find it journalled), imports it again with -Force (every table loaded again), and deletes the folder.

After each cycle, in this session, after a full garbage collection: the open file descriptors of the process
(/proc/self/fd), the client connections of the server (pg_stat_activity, the measuring one left out), the working
set and the managed heap (GC.GetTotalMemory after a full collection). The first -WarmUp cycles are left out
(JIT, pools filling). The slope per cycle is a least-squares fit over the others; a resource passes when the growth
the slope predicts over those cycles is within three times the noise (the residuals' standard deviation) or within
its floor (file descriptors 3, connections 1, working set 32 MB, managed heap 8 MB). The memory the GC has committed
is reported beside them, not judged: it tells managed growth (heap or its fragmentation) from native growth.

.EXAMPLE
dotnet pwsh ./bench/soak.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll -Cycles 50
dotnet pwsh ./bench/run.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll -Section soak
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestKit,
    [ValidateRange(3, 1000)] [int] $Cycles = 50,
    [ValidateRange(0, 100)] [int] $WarmUp = 5,
    # Servers to use; else the test services are started for the run.
    [string] $ConnectionString,
    [string] $S3Endpoint,
    [string] $WorkDir = (Join-Path ([IO.Path]::GetTempPath()) 'bulkdata-bench'),
    [string] $ResultsPath = (Join-Path $PSScriptRoot '../out/bench-soak.md'),
    # Where to write every cycle's sample as CSV (for a closer look); none when empty.
    [string] $SamplesPath
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$TestKit = (Resolve-Path $TestKit).Path
if ($WarmUp -ge $Cycles - 2) { throw "-WarmUp ($WarmUp) must leave at least 3 of the $Cycles cycles to measure." }
$Report = [System.Collections.Generic.List[string]]::new()
function Write-Report([string] $line = '') { Write-Host $line; $Report.Add($line) }
. (Join-Path $PSScriptRoot 'Common.ps1')

$services = $null
if (-not $ConnectionString -or -not $S3Endpoint) {
    Import-Module (Join-Path $PSScriptRoot '../tests/TestServices.psm1') -Force
    $services = Start-BulkTestServices
    $ConnectionString = $services.PgConnectionString
    $S3Endpoint = $services.S3Endpoint
}

Import-Module $ModulePath -Force
Add-Type -Path (Join-Path (Split-Path $ModulePath) 'dependencies/Npgsql.dll')

function Get-Slope([double[]] $y) {
    # Least squares over x = 0..n-1: the slope, and the standard deviation of the residuals.
    $n = $y.Count
    $mx = ($n - 1) / 2.0
    $my = ($y | Measure-Object -Average).Average
    $sxy = 0.0; $sxx = 0.0
    for ($i = 0; $i -lt $n; $i++) { $sxy += ($i - $mx) * ($y[$i] - $my); $sxx += ($i - $mx) * ($i - $mx) }
    $slope = $sxy / $sxx
    $ss = 0.0
    for ($i = 0; $i -lt $n; $i++) { $r = $y[$i] - ($my + $slope * ($i - $mx)); $ss += $r * $r }
    [pscustomobject]@{ Slope = $slope; Noise = [math]::Sqrt($ss / [math]::Max(1, $n - 2)) }
}

$run = [guid]::NewGuid().ToString('N').Substring(0, 8)
$bucket = "soak-$run"
$db = "soak_$run"
$source = "soak_src_$run"
$work = Join-Path $WorkDir "soak-$run"
New-Item -ItemType Directory -Force -Path $work | Out-Null
$admin = [Npgsql.NpgsqlConnectionStringBuilder]::new($ConnectionString); $admin.Pooling = $false; $admin.Database = 'postgres'
$measure = [Npgsql.NpgsqlConnection]::new($admin.ConnectionString)
try {
    Write-Host "Publishing the kit's small dump to $S3Endpoint bucket $bucket"
    $out = & dotnet $TestKit publish --pg $ConnectionString --out (Join-Path $work 'published') --endpoint $S3Endpoint --bucket $bucket --source-db $source
    if ($LASTEXITCODE) { throw "The test kit's publish failed: $out" }
    $measure.Open()
    $cmd = $measure.CreateCommand()
    $cmd.CommandText = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"

    $samples = [System.Collections.Generic.List[object]]::new()
    $self = [Diagnostics.Process]::GetCurrentProcess()
    $clock = [Diagnostics.Stopwatch]::StartNew()
    for ($c = 1; $c -le $Cycles; $c++) {
        $dest = Join-Path $work "fetch-$c"
        $files = @(Get-BulkManifest -EndpointUrl $S3Endpoint -Bucket $bucket -Region us-east-1 | Start-BulkFetch -Destination $dest)
        $first = @($files | Invoke-BulkImport -ConnectionString $ConnectionString -Database $db -WarningAction SilentlyContinue)
        $again = @($files | Invoke-BulkImport -ConnectionString $ConnectionString -Database $db -Force -WarningAction SilentlyContinue)
        $bad = @($first + $again | Where-Object Status -eq 'Failed')
        if ($bad) { throw "Cycle ${c}: $($bad[0].Table) failed: $($bad[0].Error)" }
        $loaded = @($again | Where-Object { $_.Table -ne '(schema)' -and $_.Status -eq 'Imported' }).Count
        if ($loaded -ne 8) { throw "Cycle ${c}: the -Force import loaded $loaded tables, not 8." }
        Remove-Item -Recurse -Force $dest
        $files = $null; $first = $null; $again = $null

        [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
        $self.Refresh()
        $rollup = @{}
        foreach ($line in [IO.File]::ReadAllLines('/proc/self/smaps_rollup')) { if ($line -match '^(\w+):\s+(\d+) kB') { $rollup[$Matches[1]] = [double]$Matches[2] / 1KB } }
        $gc = [GC]::GetGCMemoryInfo([GCKind]::Any)
        $samples.Add([pscustomobject]@{
                Cycle = $c
                Fds = [IO.Directory]::GetFileSystemEntries('/proc/self/fd').Count
                Connections = [long]$cmd.ExecuteScalar()
                WorkingSetMB = $self.WorkingSet64 / 1MB
                HeapMB = [GC]::GetTotalMemory($true) / 1MB
                CommittedMB = $gc.TotalCommittedBytes / 1MB
                FragmentedMB = $gc.FragmentedBytes / 1MB
                AnonMB = $rollup['Anonymous']
                FileMB = $rollup['Rss'] - $rollup['Anonymous']
                Threads = [IO.Directory]::GetDirectories('/proc/self/task').Count
                Seconds = $clock.Elapsed.TotalSeconds
            })
        $s = $samples[-1]
        Write-Host ('cycle {0,3}: {1} fds, {2} connections, {3} threads, working set {4:N1} MB (anonymous {5:N1}, file {6:N1}), heap {7:N1} MB, GC committed {8:N1} MB (fragmented {9:N1}), {10:N0} s' -f $c, $s.Fds, $s.Connections, $s.Threads, $s.WorkingSetMB, $s.AnonMB, $s.FileMB, $s.HeapMB, $s.CommittedMB, $s.FragmentedMB, $s.Seconds)
    }

    if ($SamplesPath) { $samples | Export-Csv -Path $SamplesPath -NoTypeInformation }
    $measured = @($samples | Select-Object -Skip $WarmUp)
    $span = $measured.Count - 1
    $rows = foreach ($k in @(
            @{ Name = 'File descriptors'; Property = 'Fds'; Floor = 3; Unit = '' }
            @{ Name = 'PostgreSQL connections'; Property = 'Connections'; Floor = 1; Unit = '' }
            @{ Name = 'Working set'; Property = 'WorkingSetMB'; Floor = 32; Unit = ' MB' }
            @{ Name = 'Managed heap'; Property = 'HeapMB'; Floor = 8; Unit = ' MB' }
            @{ Name = 'GC committed (diagnostic)'; Property = 'CommittedMB'; Floor = 32; Unit = ' MB'; Diagnostic = $true })) {
        $values = [double[]]@($measured | ForEach-Object { $_.($k.Property) })
        $fit = Get-Slope $values
        $growth = $fit.Slope * $span
        $limit = [math]::Max(3 * $fit.Noise, $k.Floor)
        [pscustomobject]@{ Name = $k.Name; Unit = $k.Unit; First = $values[0]; Last = $values[-1]; Slope = $fit.Slope; Noise = $fit.Noise; Growth = $growth; Limit = $limit; Passed = $growth -le $limit; Diagnostic = [bool]$k['Diagnostic'] }
    }

    Write-Report "## Soak: $Cycles cycles of Get-BulkManifest, Start-BulkFetch, Invoke-BulkImport and a -Force re-import in one pwsh session"
    Write-Report
    Write-Report ('The kit''s small dump (8 tables); cycles {0} to {1} measured (the first {2} are warm-up); {3:N0} s in all, {4:N1} s a cycle.' -f ($WarmUp + 1), $Cycles, $WarmUp, $clock.Elapsed.TotalSeconds, ($clock.Elapsed.TotalSeconds / $Cycles))
    Write-Report
    Write-Report '| Resource | First measured | Last | Slope per cycle | Noise (sd) | Growth over the cycles | Limit | Flat |'
    Write-Report '|---|---:|---:|---:|---:|---:|---:|---|'
    foreach ($r in $rows) {
        Write-Report ('| {0} | {1:N1}{7} | {2:N1}{7} | {3:N3}{7} | {4:N2}{7} | {5:N1}{7} | {6:N1}{7} | {8} |' -f $r.Name, $r.First, $r.Last, $r.Slope, $r.Noise, $r.Growth, $r.Limit, $r.Unit, $(if ($r.Diagnostic) { '(not judged)' } elseif ($r.Passed) { 'yes' } else { 'NO' }))
    }
    Write-Report
    Write-Report 'A resource is flat when the growth its least-squares slope predicts over the measured cycles is within three times the noise or its floor (3 file descriptors, 1 connection, 32 MB of working set, 8 MB of managed heap). Measured after a full garbage collection at the end of each cycle.'
    New-Item -ItemType Directory -Force -Path (Split-Path $ResultsPath) | Out-Null
    Set-Content -Path $ResultsPath -Value $Report
    [pscustomobject]@{ Cycles = $Cycles; WarmUp = $WarmUp; Resources = $rows; Passed = -not @($rows | Where-Object { -not $_.Passed -and -not $_.Diagnostic }) } | ConvertTo-Json -Depth 4 -Compress
} finally {
    try {
        if ($measure.State -ne 'Open') { $measure.Open() }
        foreach ($name in $db, $source) { $d = $measure.CreateCommand(); $d.CommandText = "DROP DATABASE IF EXISTS `"$name`" WITH (FORCE)"; $null = $d.ExecuteNonQuery() }
    } catch { Write-Warning "Could not drop the soak's databases: $_" }
    $measure.Dispose()
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    if ($services) { Stop-BulkTestServices $services }
}
