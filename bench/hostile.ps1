#!/usr/bin/env pwsh
<#
.SYNOPSIS
Hostile-input benchmark: Expand-BulkFile on crafted .bz2 files whose compressed bits spell the 48-bit block
magic over and over, at growing sizes, next to bzip2 -d on the same files.

.DESCRIPTION
The files come from the test kit's own encoder (`BulkData.TestKit bzip2-craft --kind false-magics`,
tests/BulkData.TestKit/Bzip2Crafter.cs): valid streams (bzip2 -d decodes them) with a false block or
end-of-stream magic every 7 to 8 bytes of compressed data, the worst case for a decoder that searches for
block boundaries. For each size it runs Expand-BulkFile in a fresh pwsh (the module loaded beforehand, the
cmdlet's own wall and CPU time, VmHWM of that process) and bzip2 -d (GNU time), -Runs times alternately,
checks that both outputs are the same bytes, and reports medians, the time per compressed byte and the
slopes across sizes: time per byte from the smallest to the largest file (linear when it does not grow)
and peak memory from the smallest to the largest file (bounded when it does not grow with the size).

.EXAMPLE
dotnet pwsh ./bench/hostile.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll
dotnet pwsh ./bench/run.ps1 -ModulePath out/BulkData/BulkData.psd1 -TestKit out/testkit/BulkData.TestKit.dll -Section hostile
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestKit,
    # Compressed sizes of the crafted files, in KB (the issue's figures are for 60, 180 and 896 KB); an empty list skips them.
    [AllowEmptyCollection()] [int[]] $SizesKB = @(60, 180, 896, 4096, 12288),
    # Keys of the hostile listings (the test kit's ListObjectsV2 server, 1,000 keys a page); an empty list skips them.
    [AllowEmptyCollection()] [int[]] $ListingKeys = @(10000, 100000, 1000000),
    [ValidateRange(1, 50)] [int] $Runs = 3,
    [string] $WorkDir = (Join-Path ([IO.Path]::GetTempPath()) 'bulkdata-bench'),
    [string] $ResultsPath = (Join-Path $PSScriptRoot '../out/bench-hostile.md')
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$TestKit = (Resolve-Path $TestKit).Path
$Report = [System.Collections.Generic.List[string]]::new()
function Write-Report([string] $line = '') { Write-Host $line; $Report.Add($line) }
. (Join-Path $PSScriptRoot 'Common.ps1')

$dir = Join-Path $WorkDir 'hostile'
$out = Join-Path $dir 'out'
New-Item -ItemType Directory -Force -Path $out | Out-Null

$rows = @(); $perByteFirst = $perByteLast = 1.0; $memSlope = 0.0
if ($SizesKB) {
    $rows = foreach ($kb in $SizesKB) {
        $file = Join-Path $dir "false-magics-$kb.csv.bz2"
        $magicsFile = "$file.magics"
        if (-not (Test-Path $file) -or -not (Test-Path $magicsFile)) {
            $magics = & dotnet $TestKit bzip2-craft --kind false-magics --bytes ($kb * 1024) --seed $kb --out $file
            if ($LASTEXITCODE) { throw "bzip2-craft failed for $kb KB" }
            Set-Content -Path $magicsFile -Value $magics
        }

        $magics = [long](Get-Content $magicsFile)
        $bytes = (Get-Item $file).Length
        $expanded = Join-Path $out "false-magics-$kb.csv"
        $reference = Join-Path $dir "false-magics-$kb.bzip2.csv"
        $contenders = [ordered]@{
            'Expand-BulkFile' = {
                $r = Invoke-ChildPwsh @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModulePath'
`$me = [Diagnostics.Process]::GetCurrentProcess()
`$cpu = `$me.TotalProcessorTime
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$f = Expand-BulkFile -Path '$file' -Destination '$out' -KeepCompressed -Force
`$sw.Stop()
`$me.Refresh()
`$cpu = (`$me.TotalProcessorTime - `$cpu).TotalSeconds
if (`$f.State -ne 'Extracted') { throw "state `$(`$f.State): `$(`$f.Error)" }
`$hwm = (Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D', ''
@{ Seconds = `$sw.Elapsed.TotalSeconds; CpuSeconds = `$cpu; PeakMB = [double]`$hwm / 1024 } | ConvertTo-Json -Compress
"@
                [pscustomobject]@{ Seconds = $r.Seconds; CpuSeconds = $r.CpuSeconds; PeakMB = $r.PeakMB }
            }
            'bzip2 -d' = { Measure-Shell "bzip2 -d -c '$file' > '$reference'" }
        }

        $times = @{}; $cpus = @{}; $peaks = @{}
        foreach ($n in $contenders.Keys) { $times[$n] = [System.Collections.Generic.List[double]]::new(); $cpus[$n] = [System.Collections.Generic.List[double]]::new(); $peaks[$n] = 0.0 }
        $names = @($contenders.Keys)
        for ($run = 0; $run -lt $Runs; $run++) {
            $order = for ($i = 0; $i -lt $names.Count; $i++) { $names[($i + $run) % $names.Count] }
            foreach ($name in $order) {
                $m = & $contenders[$name]
                $times[$name].Add($m.Seconds); $cpus[$name].Add($m.CpuSeconds)
                $peaks[$name] = [math]::Max($peaks[$name], $m.PeakMB)
                Write-Host ("  {0,6} KB run {1}: {2,-16} {3,7:N3} s wall {4,7:N3} s CPU {5,6:N0} MB" -f $kb, ($run + 1), $name, $m.Seconds, $m.CpuSeconds, $m.PeakMB)
            }
        }

        & cmp -s $expanded $reference
        if ($LASTEXITCODE -ne 0) { throw "Expand-BulkFile and bzip2 -d differ on $file" }
        $expandedBytes = (Get-Item $expanded).Length
        Remove-Item $expanded, $reference -ErrorAction SilentlyContinue

        [pscustomobject]@{
            KB = $kb; Bytes = $bytes; Magics = $magics; ExpandedBytes = $expandedBytes
            Ours = Get-Median $times['Expand-BulkFile']; OursCpu = Get-Median $cpus['Expand-BulkFile']; OursPeak = $peaks['Expand-BulkFile']
            Bzip2 = Get-Median $times['bzip2 -d']; Bzip2Cpu = Get-Median $cpus['bzip2 -d']; Bzip2Peak = $peaks['bzip2 -d']
        }
    }

    Write-Report ('### Hostile input: crafted .bz2 full of false block magics, {0} runs per size' -f $Runs)
    Write-Report
    Write-Report '| Compressed | False magics | Expand-BulkFile wall (s) | CPU (s) | CPU us / KB | Peak RSS (MB) | bzip2 -d wall (s) | CPU (s) | CPU us / KB | Peak RSS (MB) | Ours / bzip2 (CPU) |'
    Write-Report '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
    foreach ($r in $rows) {
        $kbIn = $r.Bytes / 1KB
        Write-Report ('| {0:N0} KB | {1:N0} | {2:N3} | {3:N3} | {4:N0} | {5:N0} | {6:N3} | {7:N3} | {8:N0} | {9:N0} | {10:N1} |' -f $kbIn, $r.Magics, $r.Ours, $r.OursCpu, (1e6 * $r.OursCpu / $kbIn), $r.OursPeak, $r.Bzip2, $r.Bzip2Cpu, (1e6 * $r.Bzip2Cpu / $kbIn), $r.Bzip2Peak, ($r.OursCpu / [math]::Max($r.Bzip2Cpu, 0.001)))
    }

    $first = $rows[0]; $last = $rows[-1]; $mid = $rows[[int][math]::Floor(($rows.Count - 1) / 2)]
    $perByteFirst = $first.OursCpu / $first.Bytes; $perByteLast = $last.OursCpu / $last.Bytes
    $marginal = ($last.OursCpu - $mid.OursCpu) / [math]::Max(1, $last.Bytes - $mid.Bytes)
    $memSlope = ($last.OursPeak - $mid.OursPeak) / [math]::Max(0.001, ($last.Bytes - $mid.Bytes) / 1MB)
    Write-Report
    Write-Report ('Time: CPU per compressed byte {0:N2} us at {1:N0} KB and {2:N2} us at {3:N0} KB ({4:N0}x the input; ratio {5:N2}, linear when it does not grow: the fixed cost of starting the decoder threads dominates small files); from {6:N0} KB to {3:N0} KB each added byte costs {7:N2} us (bzip2 -d: {8:N2} us per byte at the largest).' -f (1e6 * $perByteFirst), ($first.Bytes / 1KB), (1e6 * $perByteLast), ($last.Bytes / 1KB), ($last.Bytes / $first.Bytes), ($perByteLast / $perByteFirst), ($mid.Bytes / 1KB), (1e6 * $marginal), (1e6 * $last.Bzip2Cpu / $last.Bytes))
    Write-Report ('Memory: peak {0:N0} MB at {1:N0} KB, {2:N0} MB at {3:N0} KB, {4:N0} MB at {5:N0} KB: {6:N2} MB per added MB of input from {3:N0} KB on (bounded when near 0 or below).' -f $first.OursPeak, ($first.Bytes / 1KB), $mid.OursPeak, ($mid.Bytes / 1KB), $last.OursPeak, ($last.Bytes / 1KB), $memSlope)
    Write-Report
    Write-Report 'Before issue 15 the same kind of file took 3.9 s and 227 MB at 60 KB, 40 s and 5.2 GB at 180 KB, and ran out of memory at 896 KB. Peak RSS of Expand-BulkFile is VmHWM of its pwsh process (the runtime and module included); the outputs are compared byte for byte with bzip2 -d.'
}

# ---------------------------------------------------------------- hostile listings: many keys
$listing = foreach ($count in $ListingKeys) {
    $psi = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in $TestKit, 'hostile-listing', '--mode', 'ManyKeys', '--count', "$count") { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.UseShellExecute = $false
    $server = [Diagnostics.Process]::Start($psi)
    try {
        $port = [int]$server.StandardOutput.ReadLine()
        $m = Invoke-ChildPwsh @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModulePath'
`$me = [Diagnostics.Process]::GetCurrentProcess()
`$cpu = `$me.TotalProcessorTime
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$n = @(Get-BulkManifest -EndpointUrl 'http://127.0.0.1:$port' -Bucket hostile -Region us-east-1).Count
`$sw.Stop()
`$me.Refresh()
`$hwm = (Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D', ''
@{ Seconds = `$sw.Elapsed.TotalSeconds; CpuSeconds = (`$me.TotalProcessorTime - `$cpu).TotalSeconds; PeakMB = [double]`$hwm / 1024; Entries = `$n } | ConvertTo-Json -Compress
"@
        Write-Host ("  listing of {0,9:N0} keys: {1,7:N2} s wall {2,7:N2} s CPU {3,6:N0} MB, {4} entries chosen" -f $count, $m.Seconds, $m.CpuSeconds, $m.PeakMB, $m.Entries)
        [pscustomobject]@{ Keys = $count; Seconds = $m.Seconds; CpuSeconds = $m.CpuSeconds; PeakMB = $m.PeakMB; Entries = $m.Entries }
    } finally {
        $server.StandardInput.Close()
        if (-not $server.WaitForExit(10000)) { $server.Kill() }
        $server.Dispose()
    }
}

if ($listing) {
    Write-Report
    Write-Report '### Hostile listings: many keys (the test kit''s ListObjectsV2 server on loopback, 1,000 keys a page)'
    Write-Report
    Write-Report '| Keys | Get-BulkManifest wall (s) | CPU (s) | CPU us / key | Peak RSS (MB) | Entries chosen |'
    Write-Report '|---:|---:|---:|---:|---:|---:|'
    foreach ($l in $listing) { Write-Report ('| {0:N0} | {1:N2} | {2:N2} | {3:N1} | {4:N0} | {5:N0} |' -f $l.Keys, $l.Seconds, $l.CpuSeconds, (1e6 * $l.CpuSeconds / $l.Keys), $l.PeakMB, $l.Entries) }
    $a = @($listing)[0]; $b = @($listing)[-1]
    Write-Report
    Write-Report ('CPU per key {0:N1} us at {1:N0} keys and {2:N1} us at {3:N0} (linear when it does not grow); peak memory {4:N0} MB to {5:N0} MB: {6:N0} bytes per added key (bounded only when near 0). Peak RSS is VmHWM of the fresh pwsh that runs Get-BulkManifest.' -f (1e6 * $a.CpuSeconds / $a.Keys), $a.Keys, (1e6 * $b.CpuSeconds / $b.Keys), $b.Keys, $a.PeakMB, $b.PeakMB, (($b.PeakMB - $a.PeakMB) * 1MB / [math]::Max(1, $b.Keys - $a.Keys)))
}

New-Item -ItemType Directory -Force -Path (Split-Path $ResultsPath) | Out-Null
$Report | Set-Content -Path $ResultsPath
[pscustomobject]@{ Rows = @($rows); CpuPerByteRatio = $perByteLast / $perByteFirst; MemoryMBPerMB = $memSlope; Listing = @($listing) }
