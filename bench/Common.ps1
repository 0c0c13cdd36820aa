# Dot-sourced by the benchmark scripts.

function Get-Median([double[]] $values) {
    $sorted = @($values | Sort-Object)
    $n = $sorted.Count
    if ($n % 2) { $sorted[($n - 1) / 2] } else { ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2 }
}

# The two below write their scratch files to $WorkDir, a parameter of every benchmark script.

function Measure-Shell {
    <# Runs a shell command line; returns wall seconds and the peak resident memory (MB) of the command (GNU time). #>
    param([string] $CommandLine)
    $metrics = Join-Path $WorkDir 'time.out'
    $sw = [Diagnostics.Stopwatch]::StartNew()
    & /usr/bin/time -o $metrics -f '%M %U %S' sh -c $CommandLine
    if ($LASTEXITCODE -ne 0) { throw "'$CommandLine' failed with exit code $LASTEXITCODE" }
    $sw.Stop()
    $peak, $user, $sys = (Get-Content $metrics | Select-Object -Last 1) -split ' '
    [pscustomobject]@{ Seconds = $sw.Elapsed.TotalSeconds; CpuSeconds = [double]$user + [double]$sys; PeakMB = [double]$peak / 1024 }
}

function Invoke-ChildPwsh {
    <# Runs a script in a fresh pwsh (the module loaded, not timed); returns the JSON it prints last. #>
    param([string] $Script)
    $file = Join-Path $WorkDir 'child.ps1'
    Set-Content -Path $file -Value $Script
    $out = & ([Environment]::ProcessPath) (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $file
    if ($LASTEXITCODE -ne 0) { throw "child pwsh failed: $out" }
    ($out | Select-Object -Last 1) | ConvertFrom-Json
}

function Initialize-BenchServer {
    <#
    The PostgreSQL server of a benchmark: -ConnectionString's, or the test services (tests/TestServices.psm1)
    started for the run. Sets PGHOST, PGPORT, PGUSER and PGPASSWORD for psql (the password through the
    environment, never on a command line). Returns the connection string and the services to stop ($null if
    none were started); the caller removes PGPASSWORD and stops the services in its finally block.
    #>
    param([string] $ConnectionString)
    $services = $null
    if (-not $ConnectionString) {
        Import-Module (Join-Path $PSScriptRoot '../tests/TestServices.psm1') -Force
        $services = Start-BulkTestServices
        $ConnectionString = $services.PgConnectionString
    }
    $parts = @{}
    foreach ($kv in $ConnectionString -split ';') { if ($kv -match '^\s*([^=]+?)\s*=\s*(.*)$') { $parts[$Matches[1].ToLowerInvariant()] = $Matches[2] } }
    $env:PGHOST = $parts['host']; $env:PGPORT = if ($parts['port']) { $parts['port'] } else { '5432' }
    $env:PGUSER = if ($parts['username']) { $parts['username'] } else { $parts['user id'] }
    $env:PGPASSWORD = $parts['password']
    [pscustomobject]@{ ConnectionString = $ConnectionString; Services = $services }
}
