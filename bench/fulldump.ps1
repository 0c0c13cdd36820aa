#!/usr/bin/env pwsh
<#
.SYNOPSIS
Full-dump benchmark: a whole CourtListener-shaped dump (33 tables from the real schema, 600 indexes, 100 foreign
keys) into a fresh empty database, Invoke-BulkImport against pg_restore -j <cores>, the publisher's load script and
the parallel script proposed upstream.

.DESCRIPTION
The data: the test kit's 33-table mode (publish-full) makes a source database from ../shared's real schema, fills
it with generated rows shaped like the real dump (about -SizeMB MB of CSV, opinions about 70 % of it; every
constraint holds), and exports it as the publisher does (.csv.bz2 per table, schema-<date>.sql from pg_dump --create
--schema-only, the exporter's load script). From the same source: pg_dump -Fc, and the schema-only, pre-data and
post-data scripts the psql contenders need.

The contenders, each into a fresh empty database on the same server, in an order that rotates every run:
 - Invoke-BulkImport -Path <the dump folder> (a fresh pwsh; its start and the module import are timed);
 - pg_restore -j <cores> of the pg_dump -Fc;
 - the publisher's way: lbzip2 -d -k every file, then its load-bulk-data-<date>.sh (psql -f of the schema with its
   indexes and keys, then one \COPY per table), then the decompressed files removed. The script names its database
   (courtlistener) and loads the dump's --create schema; the benchmark runs a copy that names the run's database
   and loads the same schema without its CREATE DATABASE;
 - the parallel way proposed upstream: pre-data, then the tables <cores> at a time, largest first, each
   `lbzip2 -dc | psql -1` with session_replication_role = replica and \copy in its own transaction, then post-data.
 - with -Contender pg_restore-lz4 (not part of the issue's goals): pg_restore -j <cores> with
   PGOPTIONS='-c default_toast_compression=lz4', the TOAST compression Invoke-BulkImport's loads choose.
Every run is checked complete: the rows of each of the 33 tables, the number of indexes and of foreign keys (all
validated) equal the source's. An incomplete run is reported and left out of the medians.

Measured: wall time; CPU of the client side (GNU time: the process tree; for Invoke-BulkImport that is the pwsh
process) and of the server (the postmaster's children, from /proc); peak resident memory (GNU time's maximum of
the client processes; VmHWM of the pwsh process). Where the time goes: the kit's sampler reads pg_stat_activity
every -SampleMs for the run's database and counts sessions in COPY (working, or waiting for the client's bytes),
index builds (CREATE INDEX, primary keys, unique constraints), foreign-key validation, other statements and lock
waits; for Invoke-BulkImport also its own phases from its verbose output.

.EXAMPLE
dotnet pwsh ./bench/fulldump.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll -SizeMB 40 -Runs 1
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestKit,
    # Server to use (its user must be a superuser: session_replication_role); else the test services are started.
    [string] $ConnectionString,
    [ValidateRange(1, 50)] [int] $Runs = 3,
    # About this many MB of CSV in the dump (the kit's row counts are calibrated on its own output).
    [ValidateRange(1, 100000)] [double] $SizeMB = 400,
    [ValidateRange(50, 5000)] [int] $SampleMs = 250,
    # Contenders to run (default all four): ours, pg_restore, publisher, parallel; also pg_restore-lz4 (pg_restore -j
    # <cores> with PGOPTIONS='-c default_toast_compression=lz4', the TOAST compression Invoke-BulkImport's loads choose
    # on a server that did not choose its own), not part of the issue's goals.
    [string[]] $Contender = @('ours', 'pg_restore', 'publisher', 'parallel'),
    # A second build of the module (e.g. of the commit before a change): runs as one more contender,
    # "Invoke-BulkImport (baseline)", alternating with -ModulePath's in the same run.
    [string] $BaselineModulePath,
    [string] $WorkDir = (Join-Path ([IO.Path]::GetTempPath()) 'bulkdata-bench'),
    [string] $ResultsPath = (Join-Path $PSScriptRoot '../out/bench-fulldump.md')
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
if ($BaselineModulePath) { $BaselineModulePath = (Resolve-Path $BaselineModulePath).Path }
$TestKit = (Resolve-Path $TestKit).Path
$Cores = [Environment]::ProcessorCount
$Contender = @($Contender | ForEach-Object { $_ -split ',' } | ForEach-Object Trim | Where-Object { $_ })   # 'a,b' from pwsh -File too
foreach ($c in $Contender) { if ($c -notin 'ours', 'pg_restore', 'publisher', 'parallel', 'pg_restore-lz4') { throw "Unknown contender '$c' (known: ours, pg_restore, publisher, parallel, pg_restore-lz4)" } }
$Report = [System.Collections.Generic.List[string]]::new()
function Write-Report([string] $line = '') { Write-Host $line; $Report.Add($line) }
. (Join-Path $PSScriptRoot 'Common.ps1')

$server = Initialize-BenchServer $ConnectionString; $ConnectionString = $server.ConnectionString; $services = $server.Services

$dir = Join-Path $WorkDir "fulldump-$SizeMB"
$scratch = Join-Path $WorkDir 'fulldump-scratch'
$source = 'bench_full_source'
$target = 'bench_full_target'

function Invoke-Psql {
    param([string] $Database, [string[]] $Arguments)
    $out = & psql -X -q -v ON_ERROR_STOP=1 -At -d $Database @Arguments 2>&1
    if ($LASTEXITCODE) { throw "psql $($Arguments -join ' ') failed: $out" }
    $out
}

function Get-ServerCpuSeconds {
    # CPU of the server: every child of the postmaster (live ones, and the exited ones it has reaped).
    if (-not $services) { return [double]::NaN }
    $pm = [int]((Get-Content (Join-Path $services.PgData 'postmaster.pid') -TotalCount 1).Trim())
    $ticks = 0.0
    $f = (Get-Content "/proc/$pm/stat" -Raw) -replace '^.*\) ', '' -split ' '
    $ticks += [double]$f[13] + [double]$f[14]          # cutime + cstime (fields 16, 17)
    foreach ($p in Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$') {
        try {
            $s = (Get-Content "$($p.FullName)/stat" -Raw -ErrorAction Stop) -replace '^.*\) ', '' -split ' '
            if ([int]$s[1] -eq $pm) { $ticks += [double]$s[11] + [double]$s[12] }   # utime + stime (fields 14, 15)
        } catch { }
    }
    $ticks / 100.0
}

function Measure-Shell {
    <# Runs a shell command line under GNU time; wall seconds, CPU (user + system) and peak RSS of the client side. #>
    param([string] $CommandLine, [string] $Log)
    $metrics = Join-Path $scratch 'time.out'
    $sw = [Diagnostics.Stopwatch]::StartNew()
    & /usr/bin/time -o $metrics -f '%M %U %S' sh -c "$CommandLine" > $Log 2>&1
    $code = $LASTEXITCODE
    $sw.Stop()
    $peak, $user, $sys = (Get-Content $metrics | Select-Object -Last 1) -split ' '
    [pscustomobject]@{ Seconds = $sw.Elapsed.TotalSeconds; CpuSeconds = [double]$user + [double]$sys; PeakMB = [double]$peak / 1024; ExitCode = $code; HwmMB = [double]::NaN; Phases = $null }
}

function Start-Sampler([string] $Database, [string] $OutFile) {
    $psi = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($TestKit, 'sample', '--pg', $ConnectionString, '--db', $Database, '--interval-ms', "$SampleMs", '--out', $OutFile)) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.UseShellExecute = $false
    $p = [Diagnostics.Process]::Start($psi)
    $null = $p.StandardOutput.ReadLine()   # "sampling": connected, first sample taken
    $p
}

function Stop-Sampler($Process) {
    $Process.StandardInput.Close()
    if (-not $Process.WaitForExit(15000)) { $Process.Kill() }
}

function Read-Samples([string] $File) {
    # Session-seconds per kind, and the wall seconds with no statement of the run's database running on the server.
    $lines = @(Get-Content $File | Select-Object -Skip 1)
    $sum = [ordered]@{ copy = 0.0; copy_waiting = 0.0; index = 0.0; fk = 0.0; other = 0.0; lock = 0.0; idle_in_transaction = 0.0; server_idle = 0.0; busy_sessions = 0.0 }
    $dt = $SampleMs / 1000.0
    foreach ($l in $lines) {
        $v = @($l -split ' ' | Select-Object -Skip 1 | ForEach-Object { [int]$_ })
        $i = 0
        foreach ($k in @('copy', 'copy_waiting', 'index', 'fk', 'other', 'lock', 'idle_in_transaction')) { $sum[$k] += $v[$i] * $dt; $i++ }
        $active = $v[0] + $v[1] + $v[2] + $v[3] + $v[4] + $v[5]
        if ($active -eq 0) { $sum['server_idle'] += $dt }
        $sum['busy_sessions'] += ($v[0] + $v[2] + $v[3] + $v[4]) * $dt
    }
    $sum['samples'] = $lines.Count
    [pscustomobject]$sum
}

try {
    New-Item -ItemType Directory -Force -Path $WorkDir, $scratch | Out-Null

    # ---------------------------------------------------------------- data (not timed)
    Write-Host "Making the source database and the dump: about $SizeMB MB of CSV from the real schema (test kit publish-full)"
    if (Test-Path $dir) { Remove-Item -Recurse -Force $dir }
    $kitOut = & dotnet $TestKit publish-full --pg $ConnectionString --out $dir --size-mb "$SizeMB" --source-db $source
    if ($LASTEXITCODE) { throw "publish-full failed: $kitOut" }
    $dump = ($kitOut -join "`n") | ConvertFrom-Json
    $restoreFile = Join-Path $scratch 'source.dump'
    $plainSchema = Join-Path $scratch 'schema-only.sql'
    $preData = Join-Path $scratch 'pre-data.sql'
    $postData = Join-Path $scratch 'post-data.sql'
    & pg_dump -Fc -f $restoreFile -d $source; if ($LASTEXITCODE) { throw 'pg_dump -Fc failed' }
    & pg_dump --schema-only -f $plainSchema -d $source; if ($LASTEXITCODE) { throw 'pg_dump --schema-only failed' }
    & pg_dump --section=pre-data -f $preData -d $source; if ($LASTEXITCODE) { throw 'pg_dump --section=pre-data failed' }
    & pg_dump --section=post-data -f $postData -d $source; if ($LASTEXITCODE) { throw 'pg_dump --section=post-data failed' }

    $tables = @($dump.Tables)
    $expectedRows = @{}
    foreach ($t in $tables) { $expectedRows[$t.Table] = [long]$t.Rows }
    $expectedIndexes = [int]$dump.Indexes
    $expectedFks = [int]$dump.ForeignKeys
    $opinions = $tables | Where-Object Table -eq 'search_opinion'
    $dumpFile = Get-Item (Join-Path $dir 'schema-*.sql')
    $loadScript = Get-Item (Join-Path $dir 'load-bulk-data-*.sh')

    # The publisher's load script, run as a user would: its database and schema name are the run's.
    $publisherScript = Join-Path $scratch 'load-bulk-data.sh'
    $text = [IO.File]::ReadAllText($loadScript.FullName).Replace('export BULK_DB_NAME=courtlistener', "export BULK_DB_NAME=$target")
    [IO.File]::WriteAllText($publisherScript, $text)
    $csvDir = Join-Path $scratch 'csv'

    # The parallel way proposed upstream: pre-data; tables N at a time (largest first), each in its own transaction
    # with session_replication_role = replica; post-data.
    $copyOptions = "FORMAT csv, ENCODING utf8, ESCAPE '\', HEADER"
    $jobs = foreach ($t in $tables | Sort-Object Bz2Bytes -Descending) {
        "lbzip2 -dc '$($t.Path)' | psql -X -q -v ON_ERROR_STOP=1 -1 -d $target -c 'SET session_replication_role = replica' -c `"\copy public.$($t.Table) ($(@($t.Columns) -join ', ')) FROM STDIN WITH ($copyOptions)`""
    }
    $jobFile = Join-Path $scratch 'parallel-jobs.txt'
    [IO.File]::WriteAllLines($jobFile, [string[]]@($jobs))
    $parallelScript = Join-Path $scratch 'parallel.sh'
    [IO.File]::WriteAllText($parallelScript, @"
set -e
psql -X -q -v ON_ERROR_STOP=1 -d $target -f '$preData'
xargs -P $Cores -I '{}' -d '\n' sh -c '{}' < '$jobFile'
psql -X -q -v ON_ERROR_STOP=1 -d $target -f '$postData'
"@)

    function New-OursChild([string] $Module, [string] $Name) {
        # The child script of one build: imports the module (not timed), runs Invoke-BulkImport -Verbose, logs the
        # verbose lines with their seconds, fails on any table not imported, prints its VmHWM.
        $childFile = Join-Path $scratch "$Name.ps1"
        $childLog = Join-Path $scratch "$Name-verbose.log"
        Set-Content $childFile @"
`$ErrorActionPreference = 'Stop'
Import-Module '$Module'
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$log = [IO.StreamWriter]::new('$childLog')
`$results = @(Invoke-BulkImport -Path '$dir' -ConnectionString '$($ConnectionString -replace "'", "''")' -Database $target -Verbose -WarningAction SilentlyContinue 4>&1 | ForEach-Object {
    if (`$_ -is [System.Management.Automation.VerboseRecord]) { `$log.WriteLine(('{0:F3} {1}' -f `$sw.Elapsed.TotalSeconds, `$_.Message)) } else { `$_ }
})
`$log.WriteLine(('{0:F3} done' -f `$sw.Elapsed.TotalSeconds))
`$log.Dispose()
`$bad = @(`$results | Where-Object { `$_.Status -ne 'Imported' })
if (`$bad) { throw "not imported: `$((`$bad | ForEach-Object { "`$(`$_.Table) `$(`$_.Status) `$(`$_.Error)" }) -join '; ')" }
`$hwm = (Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D', ''
Write-Output "VmHWM `$hwm"
"@

        [pscustomobject]@{ Script = $childFile; Log = $childLog }
    }
    $oursChild = New-OursChild $ModulePath 'ours'

    $contenders = [ordered]@{}
    $childFor = @{}
    $oursContender = {
        param($log, $name)
        $child = $childFor[$name]
        $m = Measure-Shell "'$([Environment]::ProcessPath)' '$(Join-Path $PSHOME 'pwsh.dll')' -NoProfile -NonInteractive -File '$($child.Script)'" $log
        $h = Select-String -Path $log -Pattern '^VmHWM (\d+)' | Select-Object -Last 1
        if ($h) { $m.HwmMB = [double]$h.Matches[0].Groups[1].Value / 1024 }
        $m.Phases = Read-OursPhases $child.Log
        $m
    }
    if ('ours' -in $Contender) {
        $contenders['Invoke-BulkImport'] = $oursContender; $childFor['Invoke-BulkImport'] = $oursChild
        if ($BaselineModulePath) { $contenders['Invoke-BulkImport (baseline)'] = $oursContender; $childFor['Invoke-BulkImport (baseline)'] = New-OursChild $BaselineModulePath 'baseline' }
    }
    if ('pg_restore' -in $Contender) { $contenders["pg_restore -j $Cores"] = { param($log) Measure-Shell "pg_restore -j $Cores -d $target '$restoreFile'" $log } }
    if ('pg_restore-lz4' -in $Contender) { $contenders["pg_restore -j $Cores (lz4)"] = { param($log) Measure-Shell "PGOPTIONS='-c default_toast_compression=lz4' pg_restore -j $Cores -d $target '$restoreFile'" $log } }
    if ('publisher' -in $Contender) {
        $contenders['publisher''s load script'] = {
            param($log)
            # lbzip2 -d -k of every file (the script expects them decompressed), the script, then the CSVs removed.
            $cmd = "rm -rf '$csvDir' && mkdir -p '$csvDir' && for f in '$dir'/*.csv.bz2; do lbzip2 -d -c -n $Cores `"`$f`" > '$csvDir'/`$(basename `"`$f`" .bz2); done && cp '$plainSchema' '$csvDir/$($dumpFile.Name)' && BULK_DIR='$csvDir' BULK_DB_HOST='$($env:PGHOST)' BULK_DB_USER='$($env:PGUSER)' BULK_DB_PASSWORD=`"`$PGPASSWORD`" bash '$publisherScript' && rm -rf '$csvDir'"
            Measure-Shell $cmd $log
        }
    }
    if ('parallel' -in $Contender) { $contenders['parallel script (upstream)'] = { param($log) Measure-Shell "sh '$parallelScript'" $log } }

    function Read-OursPhases([string] $File) {
        # Phases of Invoke-BulkImport from its verbose lines ("<seconds> <message>"): pre-data, loading, post-data;
        # and how many COPY streams the largest table got. A message may span lines (a post-data statement, a
        # comment of the schema): only lines that start with the seconds are read, and a phase not found is NaN
        # (reported as "not found"), never an error that would lose the run.
        $lines = @(if (Test-Path $File) { Get-Content $File | Where-Object { $_ -match '^\d+\.\d+ ' } })
        $at = { param($pattern, [switch] $Last) $l = @($lines | Where-Object { $_ -match $pattern }); if ($l) { $x = if ($Last) { $l[-1] } else { $l[0] }; [double]::Parse(($x -split ' ')[0], [cultureinfo]::InvariantCulture) } else { [double]::NaN } }
        $lastRows = & $at '^\S+ \S+: \d+ rows from ' -Last
        $op = @($lines | Where-Object { $_ -match '^\S+ public\.search_opinion: (\d+) rows from .* in ([\d.]+) s \((?:(\d+) COPY streams)?' } | ForEach-Object { [pscustomobject]@{ Seconds = [double]::Parse($Matches[2], [cultureinfo]::InvariantCulture); Streams = $(if ($Matches[3]) { [int]$Matches[3] } else { 1 }) } } | Select-Object -First 1)
        $sched = @($lines | Where-Object { $_ -match '^\S+ Schedule: .* on at most (\d+) of (\d+) connection' } | ForEach-Object { [pscustomobject]@{ Peak = [int]$Matches[1]; Limit = [int]$Matches[2] } } | Select-Object -First 1)
        [pscustomobject]@{
            PreData = & $at '^\S+ \S+: pre-data applied'; FirstCopy = & $at '^\S+ \S+: COPY '; LoadEnd = $lastRows
            PostData = (& $at '^\S+ \S+: post-data applied') - $lastRows; Done = & $at '^\S+ done$' -Last
            Opinions = $(if ($op) { $op[0].Seconds } else { [double]::NaN }); OpinionStreams = $(if ($op) { $op[0].Streams } else { 0 })
            PeakConnections = $(if ($sched) { $sched[0].Peak } else { 0 }); ThrottleLimit = $(if ($sched) { $sched[0].Limit } else { 0 })
        }
    }

    function Test-Complete {
        # Rows of every exported table, indexes, foreign keys (all validated), against the source.
        $problems = [System.Collections.Generic.List[string]]::new()
        $counts = Invoke-Psql $target @('-c', (($tables | ForEach-Object { "SELECT '$($_.Table)', count(*) FROM public.$($_.Table)" }) -join ' UNION ALL '), '-F', ' ')
        foreach ($line in $counts) { $n, $c = $line -split ' '; if ([long]$c -ne $expectedRows[$n]) { $problems.Add("$n $c rows (source $($expectedRows[$n]))") } }
        $ix = [int](Invoke-Psql $target @('-c', "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"))
        $fk = [int](Invoke-Psql $target @('-c', "SELECT count(*) FROM pg_constraint c JOIN pg_namespace s ON s.oid = c.connamespace WHERE s.nspname = 'public' AND c.contype = 'f' AND c.convalidated"))
        if ($ix -ne $expectedIndexes) { $problems.Add("$ix indexes (source $expectedIndexes)") }
        if ($fk -ne $expectedFks) { $problems.Add("$fk validated foreign keys (source $expectedFks)") }
        $problems
    }

    $names = @($contenders.Keys)
    $results = @{}
    foreach ($n in $names) { $results[$n] = [System.Collections.Generic.List[object]]::new() }
    for ($run = 0; $run -lt $Runs; $run++) {
        $order = for ($i = 0; $i -lt $names.Count; $i++) { $names[($i + $run) % $names.Count] }
        foreach ($name in $order) {
            # A fresh empty database (not timed), and no dirty pages left by the previous contender.
            Invoke-Psql 'postgres' @('-c', "DROP DATABASE IF EXISTS $target WITH (FORCE)", '-c', "CREATE DATABASE $target TEMPLATE template0 ENCODING 'UTF8'", '-c', 'CHECKPOINT') | Out-Null
            $samples = Join-Path $scratch "samples-$run-$($names.IndexOf($name)).txt"
            $log = Join-Path $scratch "log-$run-$($names.IndexOf($name)).txt"
            $load = ((Get-Content /proc/loadavg) -split ' ')[0]
            $sampler = Start-Sampler $target $samples
            $cpu0 = Get-ServerCpuSeconds
            try { $m = & $contenders[$name] $log $name } finally { Stop-Sampler $sampler }
            $m | Add-Member ServerCpuSeconds ((Get-ServerCpuSeconds) - $cpu0)
            $m | Add-Member Samples (Read-Samples $samples)
            $m | Add-Member Load $load
            $problems = @(Test-Complete)
            if ($m.ExitCode -ne 0) { $problems = @("exit code $($m.ExitCode): $((Get-Content $log -Tail 3) -join ' | ')") + $problems }
            $m | Add-Member Problems $problems
            $results[$name].Add($m)
            $state = if ($problems) { "INCOMPLETE: $($problems -join '; ')" } else { 'complete' }
            Write-Host ("  run {0}: {1,-28} {2,8:N1} s wall {3,7:N1} s client CPU {4,7:N1} s server CPU (load {5}) {6}" -f ($run + 1), $name, $m.Seconds, $m.CpuSeconds, $m.ServerCpuSeconds, $load, $state)
            if ($m.Phases) { Write-Host ("         phases: pre-data {0:N1} s, first COPY {1:N1} s, last load {2:N1} s, done {3:N1} s; search_opinion {4:N1} s in {5} stream(s); at most {6} of {7} connections; VmHWM {8:N0} MB" -f $m.Phases.PreData, $m.Phases.FirstCopy, $m.Phases.LoadEnd, $m.Phases.Done, $m.Phases.Opinions, $m.Phases.OpinionStreams, $m.Phases.PeakConnections, $m.Phases.ThrottleLimit, $m.HwmMB) }
        }
    }
    Invoke-Psql 'postgres' @('-c', "DROP DATABASE IF EXISTS $target WITH (FORCE)") | Out-Null

    # ---------------------------------------------------------------- report
    $big = $tables | Sort-Object CsvBytes -Descending | Select-Object -First 6
    Write-Report ("### Full dump: {0} tables, {1:N0} MB of CSV as {2:N0} MB .csv.bz2 (lbzip2 -9), {3:N0} rows; into a fresh database with {4} indexes and {5} foreign keys; {6} runs, {7} cores" -f $tables.Count, ($dump.CsvBytes / 1MB), ($dump.Bz2Bytes / 1MB), (($tables | Measure-Object Rows -Sum).Sum), $expectedIndexes, $expectedFks, $Runs, $Cores)
    Write-Report
    Write-Report ("Largest tables (CSV): " + (($big | ForEach-Object { '{0} {1:N1} MB ({2:P0}, {3:N0} rows)' -f $_.Table, ($_.CsvBytes / 1MB), ($_.CsvBytes / $dump.CsvBytes), $_.Rows }) -join ', ') + '.')
    Write-Report
    $ok = @{}
    foreach ($n in $names) { $ok[$n] = @($results[$n] | Where-Object { -not $_.Problems }) }
    $oursName = 'Invoke-BulkImport'
    $ours = if ($ok.Contains($oursName) -and $ok[$oursName].Count) { Get-Median ($ok[$oursName] | ForEach-Object Seconds) } else { [double]::NaN }
    Write-Report '| Contender | Complete runs | Median wall (s) | Min (s) | Max (s) | Ours / it | Median client CPU (s) | Median server CPU (s) | Peak RSS client (MB) |'
    Write-Report '|---|---:|---:|---:|---:|---:|---:|---:|---:|'
    foreach ($n in $names) {
        $good = $ok[$n]
        if (-not $good.Count) { Write-Report ("| {0} | 0 of {1} | - | - | - | - | - | - | - |" -f $n, $Runs); continue }
        $med = Get-Median ($good | ForEach-Object Seconds)
        $st = $good | Measure-Object Seconds -Minimum -Maximum
        $peak = ($good | Measure-Object PeakMB -Maximum).Maximum
        $hwm = @($good | Where-Object { -not [double]::IsNaN($_.HwmMB) } | ForEach-Object HwmMB)
        $peakText = if ($hwm.Count) { '{0:N0} (VmHWM {1:N0})' -f $peak, ($hwm | Measure-Object -Maximum).Maximum } else { '{0:N0}' -f $peak }
        Write-Report ('| {0} | {1} of {2} | {3:N1} | {4:N1} | {5:N1} | {6:N2} | {7:N1} | {8:N1} | {9} |' -f $n, $good.Count, $Runs, $med, $st.Minimum, $st.Maximum, ($ours / $med), (Get-Median ($good | ForEach-Object CpuSeconds)), (Get-Median ($good | ForEach-Object ServerCpuSeconds)), $peakText)
    }
    Write-Report
    foreach ($n in $names) {
        foreach ($bad in @($results[$n] | Where-Object { $_.Problems })) { Write-Report ("Incomplete run of {0}: {1}" -f $n, ($bad.Problems -join '; ')) }
    }
    Write-Report
    Write-Report ('Where the time goes (pg_stat_activity of the run''s database sampled every {0} ms; session-seconds, mean of the complete runs): COPY working, COPY waiting for the client''s bytes (ClientRead: the client decompressing, parsing or sending), index builds (CREATE INDEX, primary keys, unique constraints), foreign-key validation, other statements, lock waits; then the wall seconds with no statement of the database running on the server, and the mean number of sessions working on the server.' -f $SampleMs)
    Write-Report
    Write-Report '| Contender | COPY working | COPY waiting for client | Index builds | FK validation | Other | Lock waits | Server idle (wall s) | Mean sessions working |'
    Write-Report '|---|---:|---:|---:|---:|---:|---:|---:|---:|'
    foreach ($n in $names) {
        $good = $ok[$n]
        if (-not $good.Count) { continue }
        $mean = { param($p) ($good | ForEach-Object { $_.Samples.$p } | Measure-Object -Average).Average }
        $wall = ($good | Measure-Object Seconds -Average).Average
        Write-Report ('| {0} | {1:N1} | {2:N1} | {3:N1} | {4:N1} | {5:N1} | {6:N1} | {7:N1} | {8:N2} |' -f $n, (& $mean 'copy'), (& $mean 'copy_waiting'), (& $mean 'index'), (& $mean 'fk'), (& $mean 'other'), (& $mean 'lock'), (& $mean 'server_idle'), ((& $mean 'busy_sessions') / $wall))
    }
    Write-Report
    foreach ($n in $names) {
        # What "other" was, by the statements sampled most (all runs of the contender).
        $other = @{}
        foreach ($f in Get-ChildItem $scratch -Filter "samples-*-$($names.IndexOf($n)).txt.other") {
            foreach ($l in Get-Content $f) { $c, $q = $l -split ' ', 2; $other[$q] = $other[$q] + [int]$c }
        }
        $top = @($other.GetEnumerator() | Sort-Object Value -Descending | Select-Object -First 3 | ForEach-Object { '`{0}...` ({1:N1} s)' -f $_.Key.Trim(), ($_.Value * $SampleMs / 1000.0 / $Runs) })
        if ($top) { Write-Report ("Other statements of {0}, most sampled: {1}." -f $n, ($top -join ', ')) }
    }
    Write-Report
    if ($results.Contains($oursName) -and $results[$oursName].Count) {
        # Written whenever ours ran: from the complete runs, else from all (said so), phases not found said so.
        $runsFor = if ($ok[$oursName].Count) { $ok[$oursName] } else { $results[$oursName] }
        $which = if ($ok[$oursName].Count) { 'mean of the complete runs' } else { 'mean of all runs, none complete' }
        $ph = @($runsFor | ForEach-Object Phases | Where-Object { $_ })
        $avg = { param($p) $v = @($ph | ForEach-Object $p | Where-Object { -not [double]::IsNaN($_) }); if ($v) { ($v | Measure-Object -Average).Average } else { [double]::NaN } }
        $fmt = { param($x) if ([double]::IsNaN($x)) { 'not found' } else { '{0:N1} s' -f $x } }
        $startup = & $fmt ((@($runsFor | Where-Object { $_.Phases -and -not [double]::IsNaN($_.Phases.Done) } | ForEach-Object { $_.Seconds - $_.Phases.Done }) | Measure-Object -Average).Average ?? [double]::NaN)
        $streams = (@($ph | ForEach-Object OpinionStreams | Sort-Object -Unique) -join ' or ')
        $limits = (@($ph | ForEach-Object { '{0} of {1}' -f $_.PeakConnections, $_.ThrottleLimit } | Sort-Object -Unique) -join ', ')
        $opSeconds = & $avg 'Opinions'
        Write-Report ('Invoke-BulkImport''s phases (its verbose output, seconds from the cmdlet''s start, {0}): pre-data applied at {1}, first COPY at {2}, last table loaded at {3}, post-data {4} after that, done at {5}; pwsh start and module import before the cmdlet {6}. The opinions table alone loaded in {7} ({8:N1} MB/s of CSV) in {9} COPY stream(s) (the rule: at most -ThrottleLimit - 1); connections in use at most {10}.' -f $which, (& $fmt (& $avg 'PreData')), (& $fmt (& $avg 'FirstCopy')), (& $fmt (& $avg 'LoadEnd')), (& $fmt (& $avg 'PostData')), (& $fmt (& $avg 'Done')), $startup, (& $fmt $opSeconds), ($opinions.CsvBytes / 1MB / $opSeconds), $streams, $limits)
        Write-Report
    }
    Write-Report ("Client CPU: GNU time's user + system of the contender's process tree (Invoke-BulkImport: the pwsh process, start and module import included). Server CPU: the postmaster's children (backends and parallel workers), from /proc. Peak RSS: GNU time's largest client process; VmHWM of the pwsh process. Load average at each run's start: {0}." -f (($names | ForEach-Object { $results[$_] | ForEach-Object Load }) -join ', '))
    New-Item -ItemType Directory -Force -Path (Split-Path $ResultsPath) | Out-Null
    $Report | Set-Content $ResultsPath
} finally {
    Remove-Item Env:PGPASSWORD -ErrorAction SilentlyContinue
    if ($services) { Stop-BulkTestServices $services }
}
