# Clear errors of Invoke-BulkImport (issue 9, item 7) against the real PostgreSQL 15: a folder with no dump, -Schema
# alone, database failures with their own error ids and categories, a malformed connection string naming its key.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-TestNpgsql
    $script:Builder = [Npgsql.NpgsqlConnectionStringBuilder]::new($script:PgConnectionString)
    $script:Work = New-TestDirectory
    Initialize-TestCleanup
    $script:Dirs.Add($script:Work)

    function New-DbName { $n = 'err_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($n); $n }

    function Test-Database([string] $Name) { [int](Invoke-Sql 'postgres' "SELECT count(*) FROM pg_database WHERE datname = '$Name'") -eq 1 }

    function Get-ImportError([scriptblock] $Run) {
        $err = $null
        try { & $Run } catch { $err = $_ }
        if (-not $err) { throw 'Invoke-BulkImport did not fail.' }
        $err
    }

    $script:Subset = Join-Path $script:RepoRoot 'tests/BulkData.TestKit/Fixture/courtlistener-subset.sql'
}

AfterAll {
    Remove-TestCleanup
}

Describe 'Invoke-BulkImport errors' {
    It 'a folder with no dump is an error naming it, and no database is created' -TestCases @(
        @{ Shape = 'empty' }
        @{ Shape = 'unrelated files' }
    ) {
        $dir = Join-Path $script:Work (New-TestName 'nodump')
        New-Item -ItemType Directory -Path $dir | Out-Null
        if ($Shape -eq 'unrelated files') { Set-Content (Join-Path $dir 'notes.txt') 'x'; Set-Content (Join-Path $dir 'data.bin') 'y' }
        $db = New-DbName
        $err = Get-ImportError { Invoke-BulkImport -Path $dir -ConnectionString $script:PgConnectionString -Database $db -ErrorAction Stop }
        $err.FullyQualifiedErrorId | Should -BeLike 'ObjectNotFound,*'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.Exception.Message | Should -Match ([regex]::Escape($dir))
        $err.Exception.Message | Should -Match 'holds no dump file'
        Test-Database $db | Should -BeFalse
    }

    It 'a load script alone is nothing to import, and no database is created' {
        $dir = Join-Path $script:Work (New-TestName 'onlyscript')
        New-Item -ItemType Directory -Path $dir | Out-Null
        Set-Content (Join-Path $dir 'load-bulk-data-2024-12-31.sh') '#!/bin/sh'
        $db = New-DbName
        $err = Get-ImportError { Invoke-BulkImport -Path $dir -ConnectionString $script:PgConnectionString -Database $db -ErrorAction Stop }
        $err.Exception.Message | Should -Match 'Nothing to import'
        Test-Database $db | Should -BeFalse
    }

    It '-Schema alone loads the schema' {
        $db = New-DbName
        $r = @(Invoke-BulkImport -Schema $script:Subset -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue)
        $r.Count | Should -Be 1
        $r[0].Table | Should -Be '(schema)'
        [int](Invoke-Sql $db "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") | Should -Be 8
    }

    It 'a wrong password is an AuthenticationError of its own id' {
        $b = [Npgsql.NpgsqlConnectionStringBuilder]::new($script:PgConnectionString); $b.Password = 'wrong-password-x'
        $db = New-DbName
        $err = Get-ImportError { Invoke-BulkImport -Schema $script:Subset -ConnectionString $b.ConnectionString -Database $db -ErrorAction Stop }
        $err.FullyQualifiedErrorId | Should -BeLike 'DatabaseAuthenticationFailed.28P01,*'
        $err.CategoryInfo.Category | Should -Be 'AuthenticationError'
        $err.Exception.Message | Should -Match 'authentication failed'
        ($err | Out-String -Width 500) + $err.Exception.ToString() | Should -Not -Match 'wrong-password-x'
        Test-Database $db | Should -BeFalse
    }

    It 'a server that does not answer is a ConnectionError of its own id' {
        # A loopback port nothing listens on: bound and closed again.
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
        $b = [Npgsql.NpgsqlConnectionStringBuilder]::new($script:PgConnectionString); $b.Host = '127.0.0.1'; $b.Port = $port; $b.Timeout = 3
        $err = Get-ImportError { Invoke-BulkImport -Schema $script:Subset -ConnectionString $b.ConnectionString -Database (New-DbName) -ErrorAction Stop }
        $err.FullyQualifiedErrorId | Should -BeLike 'DatabaseUnreachable,*'
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
        $err.Exception.Message | Should -Match "127\.0\.0\.1:$port"
    }

    It 'a statement the server refuses is an error with its SQLSTATE, naming file and line' {
        $bad = Join-Path $script:Work 'schema-2024-12-31.sql'
        Set-Content -Path $bad -Value "CREATE TABLE public.t1 (id integer);`nCREATE TABLE public.t2 (id integer REFERENCES public.t1 (nope));`n"
        $db = New-DbName
        $err = Get-ImportError { Invoke-BulkImport -Schema $bad -ConnectionString $script:PgConnectionString -Database $db -ErrorAction Stop -WarningAction SilentlyContinue }
        $err.FullyQualifiedErrorId | Should -BeLike 'DatabaseError.42703,*'
        $err.CategoryInfo.Category | Should -Be 'InvalidOperation'
        $err.Exception.Message | Should -Match 'schema-2024-12-31\.sql line 2'
        $err.Exception.Message | Should -Match 'SQLSTATE 42703'
    }

    It 'a malformed connection string names the offending key, never a value' -TestCases @(
        @{ Cs = 'Host=127.0.0.1;Hots=db;Password=sekrit-value'; Says = "key 'Hots' is not a known" }
        @{ Cs = 'Host=127.0.0.1;Port=notaport;Password=sekrit-value'; Says = "value of key 'Port'" }
        @{ Cs = 'Host=127.0.0.1;Password=sekrit-value;garbage'; Says = 'part at character \d+ is not Key=Value' }
    ) {
        $err = Get-ImportError { Invoke-BulkImport -Schema $script:Subset -ConnectionString $Cs -ErrorAction Stop }
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        $err.Exception.Message | Should -Match $Says
        ($err | Out-String -Width 500) + $err.Exception.ToString() | Should -Not -Match 'sekrit-value'
    }
}
