# Dot-sourced by every Pester suite (in BeforeAll): the module under test, the running services,
# the test kit, and small helpers. build.ps1 test sets the BULKDATA_* variables.
Set-StrictMode -Version Latest

$script:RepoRoot = if ($env:BULKDATA_REPO) { $env:BULKDATA_REPO } else { (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path }
$script:ModulePath = if ($env:BULKDATA_MODULE) { $env:BULKDATA_MODULE } else { Join-Path $script:RepoRoot 'out/BulkData/BulkData.psd1' }
$script:TestKit = if ($env:BULKDATA_TESTKIT) { $env:BULKDATA_TESTKIT } else { Join-Path $script:RepoRoot 'out/testkit/BulkData.TestKit.dll' }
$script:PgConnectionString = $env:BULKDATA_TEST_PG
$script:S3Endpoint = $env:BULKDATA_TEST_S3
$script:SharedFixtures = Join-Path $script:RepoRoot '../shared/fixtures/courtlistener'

if (-not $script:PgConnectionString -or -not $script:S3Endpoint) {
    throw 'The test services are not running: run the suites with ./build.ps1 test (it starts PostgreSQL and s3rver).'
}

Import-Module $script:ModulePath -Force

# A child PowerShell of the same version, for tests that need their own process (Ctrl+C, kill -9).
$script:PwshCommand = @([Environment]::ProcessPath, (Join-Path $PSHOME 'pwsh.dll'))

function Invoke-TestKit {
    <# Runs the test kit (fixture publisher) and returns its JSON output as objects. #>
    param([Parameter(ValueFromRemainingArguments)] [string[]] $Arguments)
    $out = & dotnet $script:TestKit @Arguments
    if ($LASTEXITCODE -ne 0) { throw "BulkData.TestKit $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
    $text = $out -join "`n"
    if ($text.TrimStart().StartsWith('{')) { $text | ConvertFrom-Json } else { $text }
}

function New-TestName {
    <# A unique lowercase name for a bucket, database or folder of one suite. #>
    param([string] $Prefix = 't')
    "$Prefix-$([guid]::NewGuid().ToString('N').Substring(0, 10))"
}

function Publish-TestDump {
    <# Publishes a small CourtListener-shaped dump to a bucket of its own; returns the publisher's JSON. #>
    param([string] $Bucket, [string] $OutDir, [string] $SourceDb = ('src_' + [guid]::NewGuid().ToString('N').Substring(0, 8)), [string[]] $Extra = @())
    Invoke-TestKit publish --pg $script:PgConnectionString --out $OutDir --endpoint $script:S3Endpoint --bucket $Bucket --source-db $SourceDb @Extra
}

function New-TestDirectory {
    $dir = Join-Path ([IO.Path]::GetTempPath()) (New-TestName 'bulkdata-test')
    New-Item -ItemType Directory -Path $dir -Force | Out-Null
    $dir
}

function Get-TestPgParts {
    <# The test server's connection string as a hashtable (Host, Port, Username, Password, Database). #>
    $parts = @{}
    foreach ($pair in $script:PgConnectionString -split ';' | Where-Object { $_ }) { $k, $v = $pair -split '=', 2; $parts[$k.Trim()] = $v }
    $parts
}

# Database helpers for the suites that read what an import wrote. They use the module's own Npgsql
# (loaded on first use), with pooling off so that a dropped database has no idle connection left.
function Initialize-TestNpgsql {
    if (-not ('Npgsql.NpgsqlConnection' -as [type])) { Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'dependencies/Npgsql.dll') }
}

function Get-Cs {
    <# The test server's connection string for one database, without pooling. #>
    param([string] $Database)
    Initialize-TestNpgsql
    $b = [Npgsql.NpgsqlConnectionStringBuilder]::new($script:PgConnectionString); $b.Database = $Database; $b.Pooling = $false
    $b.ConnectionString
}

function Invoke-Sql {
    <# Runs one statement in a database and returns its first value (no command timeout). #>
    param([string] $Database, [string] $Sql)
    $cs = Get-Cs $Database
    $conn = [Npgsql.NpgsqlConnection]::new($cs)
    $conn.Open()
    try { $cmd = $conn.CreateCommand(); $cmd.CommandText = $Sql; $cmd.CommandTimeout = 0; $cmd.ExecuteScalar() } finally { $conn.Dispose() }
}

function Invoke-Query {
    <# Runs a query in a database; its rows as hashtables (column name -> value, NULL as $null). #>
    param([string] $Database, [string] $Sql)
    $cs = Get-Cs $Database
    $conn = [Npgsql.NpgsqlConnection]::new($cs)
    $conn.Open()
    try {
        $cmd = $conn.CreateCommand(); $cmd.CommandText = $Sql; $cmd.CommandTimeout = 0
        $r = $cmd.ExecuteReader()
        while ($r.Read()) {
            $row = @{}
            for ($i = 0; $i -lt $r.FieldCount; $i++) { $row[$r.GetName($i)] = if ($r.IsDBNull($i)) { $null } else { $r.GetValue($i) } }
            $row
        }
    } finally { $conn.Dispose() }
}

function Export-Table {
    <# Every row of <Schema>.<Table> (public by default), ordered, as COPY TO writes it (columns by name, time zone UTC): equal text means equal tables. #>
    param([string] $Database, [string] $Table, [string] $Schema = 'public')
    $cs = Get-Cs $Database
    $conn = [Npgsql.NpgsqlConnection]::new($cs)
    $conn.Open()
    try {
        $cmd = $conn.CreateCommand(); $cmd.CommandText = "SET TimeZone = 'UTC'"; $null = $cmd.ExecuteNonQuery()
        $cols = [System.Collections.Generic.List[string]]::new()
        $cmd.CommandText = "SELECT attname FROM pg_attribute WHERE attrelid = '$Schema.$Table'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attname"
        $r = $cmd.ExecuteReader(); while ($r.Read()) { $cols.Add('"' + $r.GetString(0) + '"') }; $r.Dispose()
        $reader = $conn.BeginTextExport("COPY (SELECT $($cols -join ', ') FROM $Schema.$Table ORDER BY 1, $($cols -join ', ')) TO STDOUT WITH (FORMAT csv)")
        try { $reader.ReadToEnd() } finally { $reader.Dispose() }
    } finally { $conn.Dispose() }
}

function Get-TestRows {
    <# Every row of a query, each as one string of its columns joined by '|' (for comparing catalogs). #>
    param([string] $Database, [string] $Sql)
    $conn = [Npgsql.NpgsqlConnection]::new((Get-Cs $Database))
    $conn.Open()
    try {
        $cmd = $conn.CreateCommand(); $cmd.CommandText = $Sql; $cmd.CommandTimeout = 0
        $r = $cmd.ExecuteReader()
        $rows = [System.Collections.Generic.List[string]]::new()
        while ($r.Read()) { $rows.Add((@(for ($i = 0; $i -lt $r.FieldCount; $i++) { if ($r.IsDBNull($i)) { '<null>' } else { "$($r.GetValue($i))" } }) -join '|')) }
        $r.Dispose()
        , $rows.ToArray()
    } finally { $conn.Dispose() }
}

# What a suite creates and removes at its end: databases on the test server ($script:Created) and folders
# ($script:Dirs). Initialize-TestCleanup in BeforeAll, Remove-TestCleanup in AfterAll.
function Initialize-TestCleanup {
    $script:Created = [System.Collections.Generic.List[string]]::new()
    $script:Dirs = [System.Collections.Generic.List[string]]::new()
}

function Remove-TestDatabases {
    <# Drops the suite's databases ($script:Created), forcing their sessions off; a failure to drop one is ignored. #>
    foreach ($db in $script:Created) { try { Invoke-Sql 'postgres' "DROP DATABASE IF EXISTS `"$db`" WITH (FORCE)" | Out-Null } catch { } }
}

function Remove-TestCleanup {
    <# Drops the suite's databases and removes its folders; nothing when BeforeAll never got as far as Initialize-TestCleanup. #>
    if (-not (Get-Variable -Name Created -Scope Script -ErrorAction SilentlyContinue)) { return }
    Remove-TestDatabases
    foreach ($d in $script:Dirs) { Remove-Item -Recurse -Force $d -ErrorAction SilentlyContinue }
}

function New-TmpfsDirectory([string] $Size) {
    <#
    A small file system of its own (tmpfs of -Size, e.g. '12m') mounted on a new folder under $script:Work, for the
    disk-space tests (the tests run as root); Remove-TmpfsDirectories in AfterAll unmounts every one.
    #>
    if (-not (Get-Variable -Name Mounts -Scope Script -ErrorAction SilentlyContinue)) { $script:Mounts = [System.Collections.Generic.List[string]]::new() }
    $dir = Join-Path $script:Work (New-TestName 'tmpfs')
    New-Item -ItemType Directory -Path $dir | Out-Null
    & mount -t tmpfs -o "size=$Size" tmpfs $dir
    if ($LASTEXITCODE -ne 0) { throw "mount -t tmpfs -o size=$Size failed (the tests run as root)." }
    $script:Mounts.Add($dir)
    $dir
}

function Remove-TmpfsDirectories {
    <# Unmounts the suite's tmpfs folders (New-TmpfsDirectory); nothing when it made none. #>
    if (-not (Get-Variable -Name Mounts -Scope Script -ErrorAction SilentlyContinue)) { return }
    foreach ($m in $script:Mounts) { & umount -l $m 2>$null }
    $script:Mounts.Clear()
}

function Start-FaultProxy {
    <#
    The test kit's fault-injecting TCP proxy in front of s3rver, in its own process: resets after N response bytes,
    drops, a byte rate, a stall, throttling. Its log (one line per forwarded request) is in $script:Work when the
    suite has one (else the temp folder); the proxy is added to $script:Proxies when the suite keeps that list.
    #>
    param([long] $ResetAfter = 0, [int] $Resets = -1, [int] $DropFirst = 0, [long] $Rate = 0, [switch] $Stall, [double] $SlowDownFor = 0, [int] $RetryAfter = 0)
    $folder = if ((Get-Variable -Name Work -Scope Script -ErrorAction SilentlyContinue) -and $script:Work) { $script:Work } else { [IO.Path]::GetTempPath() }
    $log = Join-Path $folder "proxy-$([guid]::NewGuid().ToString('N').Substring(0,6)).log"
    New-Item -ItemType File -Path $log | Out-Null
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($script:TestKit, 'proxy', '--upstream', $script:S3Endpoint, '--reset-after', "$ResetAfter", '--resets', "$Resets", '--drop-first', "$DropFirst", '--rate', "$Rate", '--stall', $(if ($Stall) { '1' } else { '0' }), '--slowdown-for', "$SlowDownFor", '--retry-after', "$RetryAfter", '--log', $log)) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($psi)
    $port = [int]$process.StandardOutput.ReadLine()
    $proxy = [pscustomobject]@{ Process = $process; Port = $port; Endpoint = "http://127.0.0.1:$port"; Log = $log }
    if (Get-Variable -Name Proxies -Scope Script -ErrorAction SilentlyContinue) { $script:Proxies.Add($proxy) }
    $proxy
}

function Stop-FaultProxy($Proxy) {
    if (-not $Proxy.Process.HasExited) {
        $Proxy.Process.StandardInput.Close()
        if (-not $Proxy.Process.WaitForExit(5000)) { $Proxy.Process.Kill() }
    }
}
