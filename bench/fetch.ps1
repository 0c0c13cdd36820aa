#!/usr/bin/env pwsh
<#
.SYNOPSIS
Fetch benchmark: Start-BulkFetch against `rclone copy --transfers 4`, both reading the same objects from the same
local s3rver. Runs alternate between the two tools; the medians are compared (goal: ratio <= 1.0).

.EXAMPLE
dotnet pwsh ./bench/fetch.ps1 -ModulePath ./out/BulkData/BulkData.psd1 -TestKit ./out/testkit/BulkData.TestKit.dll
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestKit,
    [int] $Runs = 5,
    [int] $ObjectCount = 4,
    [long] $ObjectSize = 100MB,
    # An s3rver already running (access key S3RVER/S3RVER); by default one is started and stopped here.
    [string] $S3Endpoint,
    [string] $WorkRoot = [IO.Path]::GetTempPath(),
    # A second build of the module: then both builds run Start-BulkFetch in a fresh pwsh each (the same conditions),
    # alternating with rclone in the same run, and the result carries the baseline's median too.
    [string] $BaselineModulePath
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$root = Split-Path -Parent $PSScriptRoot
. (Join-Path $PSScriptRoot 'Common.ps1')
Import-Module (Resolve-Path $ModulePath).Path -Force
$TestKit = (Resolve-Path $TestKit).Path
if (-not (Get-Command rclone -ErrorAction SilentlyContinue)) { throw 'rclone is not installed (build.ps1 bench installs it from Debian).' }

$services = $null
if (-not $S3Endpoint) {
    Import-Module (Join-Path $root 'tests/TestServices.psm1') -Force
    $services = Start-BulkTestServices
    $S3Endpoint = $services.S3Endpoint
}

$work = Join-Path $WorkRoot "bulkdata-bench-fetch-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
New-Item -ItemType Directory -Path $work | Out-Null
$bucket = "bench-fetch-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
try {
    # The objects: random bytes (incompressible, as .bz2 files are), single-part uploads.
    $source = Join-Path $work 'source'
    New-Item -ItemType Directory -Path $source | Out-Null
    $buffer = [byte[]]::new(4MB)
    for ($i = 1; $i -le $ObjectCount; $i++) {
        $path = Join-Path $source "bench$i-2026-09-30.csv.bz2"
        $rng = [Random]::new($i)
        $stream = [IO.File]::Create($path)
        try {
            for ($left = $ObjectSize; $left -gt 0; $left -= $n) {
                $n = [int][Math]::Min($buffer.Length, $left)
                $rng.NextBytes($buffer)
                $stream.Write($buffer, 0, $n)
            }
        } finally { $stream.Dispose() }
        & dotnet $TestKit put --endpoint $S3Endpoint --bucket $bucket --key "bulk-data/$(Split-Path $path -Leaf)" --file $path | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "Uploading $path failed." }
    }
    $expected = @{}
    Get-ChildItem $source | ForEach-Object { $expected[$_.Name] = (Get-FileHash $_.FullName -Algorithm MD5).Hash }

    # rclone, configured by environment variables only.
    $env:RCLONE_CONFIG_BENCH_TYPE = 's3'
    $env:RCLONE_CONFIG_BENCH_PROVIDER = 'Other'
    $env:RCLONE_CONFIG_BENCH_ENDPOINT = $S3Endpoint
    $env:RCLONE_CONFIG_BENCH_ACCESS_KEY_ID = 'S3RVER'
    $env:RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY = 'S3RVER'
    $env:RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE = 'true'
    $env:RCLONE_CONFIG_BENCH_REGION = 'us-east-1'

    function Assert-Complete([string] $dir, [string] $tool) {
        foreach ($name in $expected.Keys) {
            $file = Join-Path $dir $name
            if (-not (Test-Path $file) -or (Get-FileHash $file -Algorithm MD5).Hash -ne $expected[$name]) { throw "$tool did not produce an identical $name." }
        }
    }

    function Invoke-FetchChild([string] $Module, [string] $dest) {
        $file = Join-Path $work 'fetch-child.ps1'
        Set-Content $file @"
`$ErrorActionPreference = 'Stop'
Import-Module '$Module'
`$files = Get-BulkManifest -EndpointUrl '$S3Endpoint' -Bucket '$bucket' -Region us-east-1 | Start-BulkFetch -Destination '$dest' -ThrottleLimit 4
if (@(`$files | Where-Object State -ne 'Downloaded').Count -gt 0) { throw 'Start-BulkFetch failed a file.' }
"@
        $out = & ([Environment]::ProcessPath) (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $file
        if ($LASTEXITCODE) { throw "Start-BulkFetch ($Module) failed: $out" }
    }

    $tools = [ordered]@{
        'Start-BulkFetch' = {
            param($dest)
            $files = Get-BulkManifest -EndpointUrl $S3Endpoint -Bucket $bucket -Region us-east-1 | Start-BulkFetch -Destination $dest -ThrottleLimit 4
            if (@($files | Where-Object State -ne 'Downloaded').Count -gt 0) { throw 'Start-BulkFetch failed a file.' }
        }
        'rclone --transfers 4' = {
            param($dest)
            # rclone's AWS SDK refuses a custom CA bundle (AWS_CA_BUNDLE) with its own transport; the endpoint is plain http.
            $ca = $env:AWS_CA_BUNDLE
            Remove-Item Env:AWS_CA_BUNDLE -ErrorAction SilentlyContinue
            try { & rclone copy "bench:$bucket/bulk-data" $dest --transfers 4 -q } finally { if ($ca) { $env:AWS_CA_BUNDLE = $ca } }
            if ($LASTEXITCODE -ne 0) { throw "rclone failed with exit code $LASTEXITCODE." }
        }
    }

    if ($BaselineModulePath) {
        $baselineModule = (Resolve-Path $BaselineModulePath).Path
        $tools['Start-BulkFetch'] = { param($dest) Invoke-FetchChild $ModulePath $dest }
        $tools.Insert(1, 'Start-BulkFetch (baseline build)', { param($dest) Invoke-FetchChild $baselineModule $dest })
    }

    # One untimed warm-up run of each (JIT, connection pools, s3rver's caches), then the timed runs. Dirty pages
    # are flushed (sync) between runs so that neither tool pays for the other's writeback.
    foreach ($t in $tools.Keys) {
        $dest = Join-Path $work 'warm-up'
        & $tools[$t] $dest
        Remove-Item -Recurse -Force $dest
        & sync
    }

    $times = @{}
    foreach ($t in $tools.Keys) { $times[$t] = [System.Collections.Generic.List[double]]::new() }
    for ($run = 1; $run -le $Runs; $run++) {
        $order = if ($run % 2) { @($tools.Keys) } else { @(@($tools.Keys)[-1..0]) }
        foreach ($t in $order) {
            $dest = Join-Path $work "dest-$run-$($t -replace '\W', '')"
            $clock = [Diagnostics.Stopwatch]::StartNew()
            & $tools[$t] $dest
            $clock.Stop()
            Assert-Complete $dest $t
            Remove-Item -Recurse -Force $dest
            & sync
            Start-Sleep -Seconds 1
            $times[$t].Add($clock.Elapsed.TotalSeconds)
            Write-Host ('run {0}: {1,-22} {2,7:N2} s  {3,7:N1} MB/s' -f $run, $t, $clock.Elapsed.TotalSeconds, ($ObjectCount * $ObjectSize / 1MB / $clock.Elapsed.TotalSeconds))
        }
    }

    $fetch = Get-Median $times['Start-BulkFetch']
    $rclone = Get-Median $times['rclone --transfers 4']
    $ratio = $fetch / $rclone
    Write-Host ''
    Write-Host ("fetch of {0} x {1}: Start-BulkFetch median {2:N2} s, rclone median {3:N2} s, ratio {4:N2} (goal <= 1.0): {5}" -f $ObjectCount, ([BulkData.Engine.ByteSize]::Format($ObjectSize)), $fetch, $rclone, $ratio, $(if ($ratio -le 1.0) { 'met' } else { 'NOT met' }))
    $baselineMedian = if ($BaselineModulePath) { Get-Median $times['Start-BulkFetch (baseline build)'] } else { $null }
    if ($baselineMedian) { Write-Host ("Start-BulkFetch with the baseline build: median {0:N2} s; this build / baseline {1:N2}" -f $baselineMedian, ($fetch / $baselineMedian)) }
    [pscustomobject]@{ Benchmark = 'fetch'; Objects = $ObjectCount; ObjectBytes = $ObjectSize; Runs = $Runs; StartBulkFetchMedianSeconds = $fetch; BaselineMedianSeconds = $baselineMedian; RcloneMedianSeconds = $rclone; Ratio = $ratio; Goal = 1.0; Met = $ratio -le 1.0 }
} finally {
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    Remove-Item Env:RCLONE_CONFIG_BENCH_* -ErrorAction SilentlyContinue
    if ($services) { Stop-BulkTestServices $services }
}
