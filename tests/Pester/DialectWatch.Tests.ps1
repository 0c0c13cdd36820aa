# The dialect watch (issue 11, item 2) on the real PostgreSQL 15: a file with no load script whose first blocks
# cannot tell the dialects apart is read by its date's prior; the sequence that tells comes only after 2 MB, so
# only the watch can catch it: the table is rolled back and loaded again in the dialect the bytes show, exactly.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-TestCleanup
}

AfterAll {
    Remove-TestCleanup
}

Describe 'The dialect watch catches, deep in a file, what the prior of its date misreads' {
    It 'a <Era> file dated <Date> (prior <Prior>) whose telling value <Telling> comes after 2 MB is reloaded as <Reads>' -ForEach @(
        @{ Era = 'ForceQuote'; Date = '2026-09-30'; Prior = 'Escape'; Telling = '"C:\dir\file"'; Body = 'C:\dir\file'; Reads = 'Rfc4180' }
        @{ Era = 'Escape'; Date = '2023-12-04'; Prior = 'Rfc4180'; Telling = '"say \"hi\" now"'; Body = 'say "hi" now'; Reads = 'Escape' }
        @{ Era = 'Escape'; Date = '2023-12-04'; Prior = 'Rfc4180'; Telling = '"C:\\dir\\file"'; Body = 'C:\dir\file'; Reads = 'Escape' }
        @{ Era = 'Backtick'; Date = '2026-09-30'; Prior = 'Escape'; Telling = '`a ``b`` c`'; Body = 'a `b` c'; Reads = 'Backtick' }
        @{ Era = 'Plain'; Date = '2024-12-31'; Prior = 'Backtick'; Telling = '"say ""hi"""'; Body = 'say "hi"'; Reads = 'Rfc4180' }
        @{ Era = 'Escape'; Date = '2024-12-31'; Prior = 'Backtick'; Telling = '"say \"hi\""'; Body = 'say "hi"'; Reads = 'Escape' }
    ) {
        $db = 'watch_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($db)
        Invoke-Sql 'postgres' "CREATE DATABASE `"$db`"" | Out-Null
        Invoke-Sql $db 'CREATE TABLE public.notes (id integer PRIMARY KEY, body text)' | Out-Null
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        $csv = Join-Path $dir "notes-$Date.csv"
        # Records every dialect reads alike (unquoted: no quote of any dialect, no backslash), then the telling one.
        $sb = [System.Text.StringBuilder]::new("id,body`n")
        foreach ($i in 1..60000) { $null = $sb.Append("$i,padding text with no quote inside row $i`n") }
        $null = $sb.Append("60001,$Telling`n60002,`n")
        [IO.File]::WriteAllText($csv, $sb.ToString())
        (Get-Item $csv).Length | Should -BeGreaterThan (2MB)
        $r = Invoke-BulkImport -Path $csv -ConnectionString $script:PgConnectionString -Database $db -TableMap @{ notes = 'public.notes' } -WarningVariable w -WarningAction SilentlyContinue
        $r.Status | Should -Be 'Imported' -Because "$($r.Error)"
        $r.Rows | Should -Be 60002
        $r.Dialect | Should -Be $Reads
        $r.DialectReason | Should -Match "^sniffed \(reloaded: $Prior misread"
        ($w | Where-Object { "$_" -match 'line 60002' -and "$_" -match "again as $Reads" }) | Should -Not -BeNullOrEmpty -Because ($w -join ' | ')
        Invoke-Sql $db 'SELECT body FROM public.notes WHERE id = 60001' | Should -BeExactly $Body
        Invoke-Sql $db 'SELECT body FROM public.notes WHERE id = 60000' | Should -BeExactly 'padding text with no quote inside row 60000'
        Invoke-Sql $db 'SELECT body IS NULL FROM public.notes WHERE id = 60002' | Should -BeTrue
    }

    It 'a stated dialect (-Dialect) contradicted deep in the file fails naming the dialect to use, with nothing loaded' {
        $db = 'watch_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($db)
        Invoke-Sql 'postgres' "CREATE DATABASE `"$db`"" | Out-Null
        Invoke-Sql $db 'CREATE TABLE public.notes (id integer PRIMARY KEY, body text)' | Out-Null
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        $csv = Join-Path $dir 'notes-2026-09-30.csv'
        $sb = [System.Text.StringBuilder]::new("id,body`n")
        foreach ($i in 1..60000) { $null = $sb.Append("$i,padding text with no quote inside row $i`n") }
        $null = $sb.Append('60001,`a ``b`` c`' + "`n")
        [IO.File]::WriteAllText($csv, $sb.ToString())
        $r = Invoke-BulkImport -Path $csv -ConnectionString $script:PgConnectionString -Database $db -TableMap @{ notes = 'public.notes' } -Dialect Escape -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $r.Status | Should -Be 'Failed'
        $r.Error | Should -Match 'not in the Escape dialect'
        $r.Error | Should -Match 'line 60002: an unquoted value wrapped in backticks'
        $r.Error | Should -Match 'use -Dialect Backtick'
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.notes') | Should -Be 0
    }
}
