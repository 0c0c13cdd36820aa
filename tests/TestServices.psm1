# Real services for the tests, the demo and the benchmarks: a throwaway PostgreSQL 15 cluster and an
# s3rver S3-protocol server, each on a free loopback port, torn down by Stop-BulkTestServices.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$script:RepoRoot = Split-Path -Parent $PSScriptRoot
$script:S3rverVersion = '3.7.1'

function Get-FreeTcpPort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Find-PgBin {
    foreach ($dir in @($env:BULKDATA_PG_BIN, '/usr/lib/postgresql/15/bin') + (Get-ChildItem /usr/lib/postgresql -Directory -ErrorAction SilentlyContinue | Sort-Object Name -Descending | ForEach-Object { Join-Path $_.FullName 'bin' })) {
        if ($dir -and (Test-Path (Join-Path $dir 'initdb'))) { return $dir }
    }
    throw 'PostgreSQL server binaries were not found (looked in /usr/lib/postgresql/*/bin). Install postgresql-15.'
}

function Invoke-AsPostgres {
    param([string] $Command, [string[]] $Arguments)
    # PostgreSQL refuses to run as root: run its tools as the postgres OS user when we are root.
    if ((id -u) -eq '0') {
        & runuser -u postgres -- $Command @Arguments
    } else {
        & $Command @Arguments
    }
    if ($LASTEXITCODE -ne 0) { throw "$([IO.Path]::GetFileName($Command)) failed with exit code $LASTEXITCODE" }
}

function Install-S3rver {
    $prefix = Join-Path $script:RepoRoot ".tools/s3rver"
    $cli = Join-Path $prefix "node_modules/s3rver/bin/s3rver.js"
    $pkg = Join-Path $prefix "node_modules/s3rver/package.json"
    if (-not (Test-Path $cli) -or ((Get-Content $pkg -Raw | ConvertFrom-Json).version -ne $script:S3rverVersion)) {
        New-Item -ItemType Directory -Force -Path $prefix | Out-Null
        & npm install --prefix $prefix "s3rver@$($script:S3rverVersion)" --no-audit --no-fund --loglevel=error | Out-Host
        if ($LASTEXITCODE -ne 0) { throw "npm install s3rver@$($script:S3rverVersion) failed" }
    }
    $cli
}

function Wait-TcpPort {
    param([int] $Port, [int] $TimeoutSeconds = 30, [System.Diagnostics.Process] $Process)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ([DateTime]::UtcNow -lt $deadline) {
        if ($Process -and $Process.HasExited) { throw "The process listening on $Port exited early with code $($Process.ExitCode)." }
        $client = [System.Net.Sockets.TcpClient]::new()
        try { $client.Connect('127.0.0.1', $Port); return } catch { Start-Sleep -Milliseconds 100 } finally { $client.Dispose() }
    }
    throw "Nothing listened on 127.0.0.1:$Port within $TimeoutSeconds s."
}

function Start-BulkTestServices {
    <#
    .SYNOPSIS
    Starts PostgreSQL 15 and s3rver on free loopback ports; returns their addresses and sets
    BULKDATA_TEST_PG and BULKDATA_TEST_S3 for the test suites.
    #>
    [CmdletBinding()]
    param([string] $Root = (Join-Path ([IO.Path]::GetTempPath()) "bulkdata-services-$PID-$([guid]::NewGuid().ToString('N').Substring(0,6))"))

    New-Item -ItemType Directory -Force -Path $Root | Out-Null
    $services = [pscustomobject]@{
        Root = $Root; PgData = Join-Path $Root 'pg'; PgPort = 0; PgPassword = $null; PgConnectionString = $null
        PgBin = $null; S3Port = 0; S3Endpoint = $null; S3Process = $null; S3Data = Join-Path $Root 's3'
    }
    try {
        # PostgreSQL: a throwaway cluster owned by the postgres OS user, password authentication on loopback.
        $services.PgBin = Find-PgBin
        $services.PgPort = Get-FreeTcpPort
        $services.PgPassword = 'pw-' + [guid]::NewGuid().ToString('N')
        New-Item -ItemType Directory -Force -Path $services.PgData | Out-Null
        $pwFile = Join-Path $Root 'pgpass.txt'
        Set-Content -Path $pwFile -Value $services.PgPassword -NoNewline
        if ((id -u) -eq '0') {
            & chmod 0755 $Root; & chown postgres $services.PgData $pwFile
        }
        Invoke-AsPostgres (Join-Path $services.PgBin 'initdb') @('-D', $services.PgData, '-U', 'postgres', '--auth=scram-sha-256', "--pwfile=$pwFile", '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync') | Out-Null
        [IO.File]::Delete($pwFile)
        $opts = "-p $($services.PgPort) -c listen_addresses=127.0.0.1 -c unix_socket_directories='$($services.PgData)' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60 -c shared_buffers=256MB -c max_wal_size=4GB"
        Invoke-AsPostgres (Join-Path $services.PgBin 'pg_ctl') @('-D', $services.PgData, '-o', $opts, '-l', (Join-Path $services.PgData 'server.log'), '-w', '-t', '60', 'start') | Out-Null
        $services.PgConnectionString = "Host=127.0.0.1;Port=$($services.PgPort);Username=postgres;Password=$($services.PgPassword);Database=postgres"

        # s3rver from npm; NODE_OPTIONS=--openssl-legacy-provider or its paginated listings answer 500 on Node 20.
        $cli = Install-S3rver
        $services.S3Port = Get-FreeTcpPort
        New-Item -ItemType Directory -Force -Path $services.S3Data | Out-Null
        $psi = [System.Diagnostics.ProcessStartInfo]::new('node')
        foreach ($a in @($cli, '-d', $services.S3Data, '-a', '127.0.0.1', '-p', "$($services.S3Port)", '--silent')) { $psi.ArgumentList.Add($a) }
        $psi.Environment['NODE_OPTIONS'] = '--openssl-legacy-provider'
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $services.S3Process = [System.Diagnostics.Process]::Start($psi)
        Wait-TcpPort -Port $services.S3Port -Process $services.S3Process
        $services.S3Endpoint = "http://127.0.0.1:$($services.S3Port)"
    } catch {
        Stop-BulkTestServices $services
        throw
    }

    $env:BULKDATA_TEST_PG = $services.PgConnectionString
    $env:BULKDATA_TEST_S3 = $services.S3Endpoint
    $services
}

function Stop-BulkTestServices {
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Services)
    if ($Services.S3Process -and -not $Services.S3Process.HasExited) {
        try { $Services.S3Process.Kill($true); $Services.S3Process.WaitForExit(5000) | Out-Null } catch { }
    }
    if ($Services.PgBin -and (Test-Path (Join-Path $Services.PgData 'postmaster.pid'))) {
        try { Invoke-AsPostgres (Join-Path $Services.PgBin 'pg_ctl') @('-D', $Services.PgData, '-m', 'immediate', '-w', 'stop') | Out-Null } catch { Write-Warning $_ }
    }
    if ($Services.Root -and (Test-Path $Services.Root)) {
        Remove-Item -Recurse -Force $Services.Root -ErrorAction SilentlyContinue
    }
    Remove-Item Env:BULKDATA_TEST_PG, Env:BULKDATA_TEST_S3 -ErrorAction SilentlyContinue
}

Export-ModuleMember -Function Start-BulkTestServices, Stop-BulkTestServices, Get-FreeTcpPort
