# A server that goes away mid-COPY (issue 15, item 4) on the real PostgreSQL 15: the suite's cluster is shared by
# every test, so the server is not stopped; the import's backend is ended with pg_terminate_backend from another
# connection while its COPY runs. The error names a lost connection to the server, and the table is rolled back.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-TestCleanup
}

AfterAll {
    Remove-TestCleanup
}

Describe 'Invoke-BulkImport when the server ends its session mid-COPY' {
    It 'fails the table with an error naming the lost connection, the table rolled back and the run still able to go on' {
        $db = 'lost_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($db)
        Invoke-Sql 'postgres' "CREATE DATABASE `"$db`"" | Out-Null
        Invoke-Sql $db 'CREATE TABLE public.notes (id integer PRIMARY KEY, body text)' | Out-Null
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        $csv = Join-Path $dir 'notes-2026-09-30.csv'
        $w = [IO.StreamWriter]::new($csv)
        try {
            $w.Write("id,body`n")
            $pad = 'x' * 200
            for ($i = 1; $i -le 400000; $i++) { $w.Write("$i,`"$pad $i`"`n") }
        } finally { $w.Dispose() }

        # The other connection: ends the backend of this database that runs a COPY, as soon as there is one.
        $killer = [powershell]::Create()
        $null = $killer.AddScript({
            param([string] $Cs, [string] $Db)
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            $conn = [Npgsql.NpgsqlConnection]::new($Cs); $conn.Open()
            try {
                while ([DateTime]::UtcNow -lt $deadline) {
                    $cmd = $conn.CreateCommand()
                    $cmd.CommandText = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$Db' AND query LIKE 'COPY %' AND state = 'active' AND pid <> pg_backend_pid()"
                    if ([long]$cmd.ExecuteScalar() -gt 0) { return 'terminated' }
                    Start-Sleep -Milliseconds 10
                }
                'no COPY seen'
            } finally { $conn.Dispose() }
        }).AddArgument((Get-Cs 'postgres')).AddArgument($db)
        $handle = $killer.BeginInvoke()
        try {
            $r = Invoke-BulkImport -Path $csv -ConnectionString $script:PgConnectionString -Database $db -TableMap @{ notes = 'public.notes' } -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
            $killed = @($killer.EndInvoke($handle))
        } finally { $killer.Dispose() }
        $killed | Should -Be 'terminated' -Because 'the other connection must have ended the COPY'
        $r.Status | Should -Be 'Failed'
        $r.Error | Should -Match 'the connection to the PostgreSQL server was lost'
        $r.Error | Should -Match 'the table was rolled back'
        $r.Error | Should -Match ([regex]::Escape("table public.notes"))
        $r.Error | Should -Not -Match 'Exception while writing to stream'
        @($errs).Count | Should -BeGreaterThan 0
        "$($errs[0].Exception.Message)" | Should -Match 'connection to the PostgreSQL server was lost'
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.notes') | Should -Be 0
        # Nothing journalled for it: a second run loads the table whole.
        $again = Invoke-BulkImport -Path $csv -ConnectionString $script:PgConnectionString -Database $db -TableMap @{ notes = 'public.notes' } -WarningAction SilentlyContinue
        $again.Status | Should -Be 'Imported'
        $again.Rows | Should -Be 400000
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.notes') | Should -Be 400000
    }
}
