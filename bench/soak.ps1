#!/usr/bin/env pwsh
<#
.SYNOPSIS
Soak: one pwsh session running -Cycles cycles of Get-BulkManifest, Start-BulkFetch, Invoke-BulkImport and a
-Force re-import of a small dump, reporting the growth per cycle of handles, connections, threads, memory and
live objects.

.DESCRIPTION
The dump is the test kit's small one (8 tables), published to s3rver; PostgreSQL and s3rver are the test services
(tests/TestServices.psm1), started for the run unless -ConnectionString and -S3Endpoint are given. Each cycle lists
the bucket, fetches the dump into a fresh folder, imports it into one database (the first cycle loads it, the
others find it journalled), imports it again with -Force (every table loaded again), and deletes the folder.

After each cycle, in this session, after a full garbage collection: the open file descriptors of the process
(/proc/self/fd), its threads (/proc/self/task), the client connections of the server (pg_stat_activity, the
measuring one left out), the working set and the managed heap (GC.GetTotalMemory after a full collection); beside
them, not judged, the anonymous and file-backed resident memory (/proc/self/smaps_rollup) and the memory the GC has
committed, which tell native growth, code pages and GC segments apart.

The first -WarmUp cycles are left out: JIT, code pages touched for the first time, the GC's segments and the pools
reaching their working size (about 40 cycles on the shared 2-core machine: a bounded warm-up, not a leak). The
slope per cycle is a least-squares fit over the others; a resource passes when the growth the slope predicts over
those cycles is within three times the noise (the residuals' standard deviation) or within its floor (file
descriptors 3, threads 2, connections 1, working set 32 MB, managed heap 8 MB). The slopes of the first and second
half of the measured cycles are shown too: a leak keeps its slope, a warm-up flattens.

The heap's total is too coarse for a small leak (a few tens of KB a cycle is below its noise), so, when the
repository's dotnet-gcdump tool is restored (`dotnet tool restore`), the session's live objects are counted by type
at the end of the warm-up, in the middle and at the end of the measured cycles (dotnet-gcdump against this
process; the dumps are read after the last cycle, so that their counts are not in the heap being counted). A type
whose count rises in each half by at least one object every two cycles is a leak; the soak's own samples
(SoakSample) are left out. -NoObjectCounts skips the counts.

.EXAMPLE
dotnet pwsh ./bench/soak.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll -Cycles 100
dotnet pwsh ./bench/run.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll -Section soak
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestKit,
    [ValidateRange(8, 1000)] [int] $Cycles = 100,
    [ValidateRange(0, 500)] [int] $WarmUp = 40,
    # Servers to use; else the test services are started for the run.
    [string] $ConnectionString,
    [string] $S3Endpoint,
    [string] $WorkDir = (Join-Path ([IO.Path]::GetTempPath()) 'bulkdata-bench'),
    [string] $ResultsPath = (Join-Path $PSScriptRoot '../out/bench-soak.md'),
    # Where to write every cycle's sample as CSV (for a closer look); none when empty.
    [string] $SamplesPath,
    # Do not count live objects by type (dotnet-gcdump), even when the tool is restored.
    [switch] $NoObjectCounts
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$TestKit = (Resolve-Path $TestKit).Path
if ($WarmUp -gt $Cycles - 6) { $WarmUp = [math]::Max(0, $Cycles - 6); Write-Warning "-WarmUp lowered to $WarmUp to leave 6 of the $Cycles cycles to measure." }
$Report = [System.Collections.Generic.List[string]]::new()
function Write-Report([string] $line = '') { Write-Host $line; $Report.Add($line) }
. (Join-Path $PSScriptRoot 'Common.ps1')

# One cycle's sample: a plain .NET object (not a PSObject with note properties) so that the samples themselves
# show up in the object counts as one type, left out by name.
class SoakSample {
    [int] $Cycle; [double] $Fds; [double] $Threads; [double] $Connections; [double] $WorkingSetMB; [double] $HeapMB
    [double] $AnonMB; [double] $FileMB; [double] $CommittedMB; [double] $FragmentedMB; [double] $Seconds
}

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

# Live objects by type, from a gcdump of this process: @{ 'Type [assembly]' = count }.
$gcdumpAvailable = $false
if (-not $NoObjectCounts) {
    Push-Location (Join-Path $PSScriptRoot '..')
    try { $null = & dotnet tool run dotnet-gcdump --version 2>&1; $gcdumpAvailable = $LASTEXITCODE -eq 0 } catch { $gcdumpAvailable = $false } finally { Pop-Location }
    if (-not $gcdumpAvailable) { Write-Warning 'dotnet-gcdump is not restored (dotnet tool restore): live objects are not counted.' }
}
function Save-ObjectDump([string] $name) {
    # Only the dump is taken during the cycles; it is read after them, so that its counts do not sit in the heap
    # being counted.
    $file = Join-Path $work "$name.gcdump"
    Push-Location (Join-Path $PSScriptRoot '..')
    try {
        $null = & dotnet tool run dotnet-gcdump collect -p $PID -o $file 2>&1
        if ($LASTEXITCODE) { throw "dotnet-gcdump collect failed for process $PID" }
    } finally { Pop-Location }
    $file
}
function Read-ObjectCount([string] $file) {
    Push-Location (Join-Path $PSScriptRoot '..')
    try {
        $lines = & dotnet tool run dotnet-gcdump report $file 2>&1
        if ($LASTEXITCODE) { throw "dotnet-gcdump report failed for $file" }
    } finally { Pop-Location }
    $counts = @{}
    foreach ($line in $lines) {
        if ("$line" -match '^\s*[\d,]+\s+([\d,]+)\s+(.+?)(?:\s+\(Bytes > [^)]*\))?\s+(\[[^\]]*\])\s*$') {
            $type = "$($Matches[2]) $($Matches[3])"
            $counts[$type] = [long]$counts[$type] + [long]($Matches[1] -replace ',', '')
        }
    }
    Remove-Item $file -ErrorAction SilentlyContinue
    $counts
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

    $middle = $WarmUp + [int][math]::Floor(($Cycles - $WarmUp) / 2)
    $dumpAt = @{ ([math]::Max(1, $WarmUp)) = 'start'; $middle = 'middle'; $Cycles = 'end' }
    $dumps = @{}
    $samples = [System.Collections.Generic.List[SoakSample]]::new()
    $self = [Diagnostics.Process]::GetCurrentProcess()
    $dumping = [TimeSpan]::Zero
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
        $files = $null; $first = $null; $again = $null; $bad = $null

        [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
        $self.Refresh()
        $rollup = @{}
        foreach ($line in [IO.File]::ReadAllLines('/proc/self/smaps_rollup')) { if ($line -match '^(\w+):\s+(\d+) kB') { $rollup[$Matches[1]] = [double]$Matches[2] / 1KB } }
        $gc = [GC]::GetGCMemoryInfo([GCKind]::Any)
        $s = [SoakSample]::new()
        $s.Cycle = $c
        $s.Fds = [IO.Directory]::GetFileSystemEntries('/proc/self/fd').Count
        $s.Threads = [IO.Directory]::GetDirectories('/proc/self/task').Count
        $s.Connections = [long]$cmd.ExecuteScalar()
        $s.WorkingSetMB = $self.WorkingSet64 / 1MB
        $s.HeapMB = [GC]::GetTotalMemory($true) / 1MB
        $s.AnonMB = $rollup['Anonymous']
        $s.FileMB = $rollup['Rss'] - $rollup['Anonymous']
        $s.CommittedMB = $gc.TotalCommittedBytes / 1MB
        $s.FragmentedMB = $gc.FragmentedBytes / 1MB
        $s.Seconds = ($clock.Elapsed - $dumping).TotalSeconds
        $samples.Add($s)
        Write-Host ('cycle {0,3}: {1} fds, {2} threads, {3} connections, working set {4:N1} MB (anonymous {5:N1}, file {6:N1}), heap {7:N1} MB, GC committed {8:N1} MB (fragmented {9:N1}), {10:N0} s' -f $c, $s.Fds, $s.Threads, $s.Connections, $s.WorkingSetMB, $s.AnonMB, $s.FileMB, $s.HeapMB, $s.CommittedMB, $s.FragmentedMB, $s.Seconds)
        if ($gcdumpAvailable -and $dumpAt.ContainsKey($c)) {
            $at = $clock.Elapsed
            $dumps[$dumpAt[$c]] = Save-ObjectDump "cycle-$c"
            $dumping += $clock.Elapsed - $at
            Write-Host ('  live objects counted at cycle {0} ({1})' -f $c, $dumpAt[$c])
        }
    }

    $objects = @{}
    foreach ($k in @($dumps.Keys)) { $objects[$k] = Read-ObjectCount $dumps[$k] }
    if ($SamplesPath) { $samples | Export-Csv -Path $SamplesPath -NoTypeInformation }
    $measured = @($samples | Where-Object Cycle -gt $WarmUp)
    $span = $measured.Count - 1
    $half = [int][math]::Floor($measured.Count / 2)
    $rows = foreach ($k in @(
            @{ Name = 'File descriptors'; Property = 'Fds'; Floor = 3; Unit = '' }
            @{ Name = 'Threads'; Property = 'Threads'; Floor = 2; Unit = '' }
            @{ Name = 'PostgreSQL connections'; Property = 'Connections'; Floor = 1; Unit = '' }
            @{ Name = 'Working set'; Property = 'WorkingSetMB'; Floor = 32; Unit = ' MB' }
            @{ Name = 'Managed heap'; Property = 'HeapMB'; Floor = 8; Unit = ' MB' }
            @{ Name = 'Anonymous resident (diagnostic)'; Property = 'AnonMB'; Floor = 32; Unit = ' MB'; Diagnostic = $true }
            @{ Name = 'File-backed resident (diagnostic)'; Property = 'FileMB'; Floor = 32; Unit = ' MB'; Diagnostic = $true }
            @{ Name = 'GC committed (diagnostic)'; Property = 'CommittedMB'; Floor = 32; Unit = ' MB'; Diagnostic = $true })) {
        $values = [double[]]@($measured | ForEach-Object { $_.($k.Property) })
        $fit = Get-Slope $values
        $firstHalf = Get-Slope $values[0..($half - 1)]
        $secondHalf = Get-Slope $values[$half..($values.Count - 1)]
        $growth = $fit.Slope * $span
        $limit = [math]::Max(3 * $fit.Noise, $k.Floor)
        [pscustomobject]@{ Name = $k.Name; Unit = $k.Unit; First = $values[0]; Last = $values[-1]; Slope = $fit.Slope; FirstHalf = $firstHalf.Slope; SecondHalf = $secondHalf.Slope; Noise = $fit.Noise; Growth = $growth; Limit = $limit; Passed = $growth -le $limit; Diagnostic = [bool]$k['Diagnostic'] }
    }

    # Types whose live count rises in each half by at least one object every two cycles (a quarter of the span).
    $growing = @()
    if ($objects.Count -eq 3) {
        $a = $objects['start']; $b = $objects['middle']; $z = $objects['end']
        $growing = @(@(foreach ($type in $z.Keys) {
                if ($type -like 'SoakSample *') { continue }
                $ca = [long]$a[$type]; $cb = [long]$b[$type]; $cz = [long]$z[$type]
                if (($cb - $ca) * 4 -ge $span -and ($cz - $cb) * 4 -ge $span) {
                    [pscustomobject]@{ Type = $type; Start = $ca; Middle = $cb; End = $cz; PerCycle = ($cz - $ca) / [math]::Max(1, $span) }
                }
            }) | Sort-Object PerCycle -Descending)
    }

    Write-Report "## Soak: $Cycles cycles of Get-BulkManifest, Start-BulkFetch, Invoke-BulkImport and a -Force re-import in one pwsh session"
    Write-Report
    Write-Report ('The kit''s small dump (8 tables); cycles {0} to {1} measured (the first {2} are warm-up); {3:N0} s of cycles, {4:N1} s a cycle (the object counts not included).' -f ($WarmUp + 1), $Cycles, $WarmUp, $samples[-1].Seconds, ($samples[-1].Seconds / $Cycles))
    Write-Report
    Write-Report '| Resource | First measured | Last | Slope per cycle | First half | Second half | Noise (sd) | Growth over the cycles | Limit | Flat |'
    Write-Report '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|'
    foreach ($r in $rows) {
        Write-Report ('| {0} | {1:N1}{7} | {2:N1}{7} | {3:N3}{7} | {9:N3}{7} | {10:N3}{7} | {4:N2}{7} | {5:N1}{7} | {6:N1}{7} | {8} |' -f $r.Name, $r.First, $r.Last, $r.Slope, $r.Noise, $r.Growth, $r.Limit, $r.Unit, $(if ($r.Diagnostic) { '(not judged)' } elseif ($r.Passed) { 'yes' } else { 'NO' }), $r.FirstHalf, $r.SecondHalf)
    }
    Write-Report
    if ($objects.Count -eq 3) {
        $total = { param($h) ($h.Values | Measure-Object -Sum).Sum }
        Write-Report ('Live objects (dotnet-gcdump at cycles {0}, {1} and {2}): {3:N0}, {4:N0} and {5:N0}; types that grow in each half by at least one object every two cycles: {6}.' -f $WarmUp, $middle, $Cycles, (& $total $objects['start']), (& $total $objects['middle']), (& $total $objects['end']), $(if ($growing) { $growing.Count } else { 'none' }))
        if ($growing) {
            Write-Report
            Write-Report '| Type | Start | Middle | End | Per cycle |'
            Write-Report '|---|---:|---:|---:|---:|'
            foreach ($g in $growing | Select-Object -First 15) { Write-Report ('| {0} | {1:N0} | {2:N0} | {3:N0} | {4:N2} |' -f $g.Type, $g.Start, $g.Middle, $g.End, $g.PerCycle) }
        }
    } else {
        Write-Report 'Live objects: not counted (dotnet-gcdump not restored, or -NoObjectCounts).'
    }
    Write-Report
    Write-Report 'A resource is flat when the growth its least-squares slope predicts over the measured cycles is within three times the noise or its floor (3 file descriptors, 2 threads, 1 connection, 32 MB of working set, 8 MB of managed heap). Measured after a full garbage collection at the end of each cycle.'
    $passed = -not @($rows | Where-Object { -not $_.Passed -and -not $_.Diagnostic }) -and -not $growing
    Write-Report ('Verdict: {0}.' -f $(if ($passed) { 'flat' } else { 'NOT flat' }))
    New-Item -ItemType Directory -Force -Path (Split-Path $ResultsPath) | Out-Null
    Set-Content -Path $ResultsPath -Value $Report
    [pscustomobject]@{ Cycles = $Cycles; WarmUp = $WarmUp; Resources = $rows; GrowingTypes = @($growing); ObjectsCounted = $objects.Count -eq 3; Passed = $passed } | ConvertTo-Json -Depth 4 -Compress
} finally {
    try {
        if ($measure.State -ne 'Open') { $measure.Open() }
        foreach ($name in $db, $source) { $d = $measure.CreateCommand(); $d.CommandText = "DROP DATABASE IF EXISTS `"$name`" WITH (FORCE)"; $null = $d.ExecuteNonQuery() }
    } catch { Write-Warning "Could not drop the soak's databases: $_" }
    $measure.Dispose()
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    if ($services) { Stop-BulkTestServices $services }
}
