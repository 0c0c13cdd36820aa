# Invoke-BulkImport against the real PostgreSQL 15 started by build.ps1 test, with dumps made by the test kit.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    # The module's own Npgsql, to read the databases in the checks.
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'dependencies/Npgsql.dll')
    $script:Builder = [Npgsql.NpgsqlConnectionStringBuilder]::new($script:PgConnectionString)
    $script:Password = $script:Builder.Password
    $script:Created = [System.Collections.Generic.List[string]]::new()
    $script:Dirs = [System.Collections.Generic.List[string]]::new()

    function New-Dump([string] $Dialect = 'Escape', [string[]] $Extra = @()) {
        $dir = New-TestDirectory
        $script:Dirs.Add($dir)
        $src = 'src_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $script:Created.Add($src)
        $dump = Publish-TestDump -Bucket (New-TestName 'imp') -OutDir $dir -SourceDb $src -Extra (@('--dialect', $Dialect) + $Extra)
        [pscustomobject]@{ Dir = $dir; Dump = $dump; Source = $src }
    }

    function New-DbName { $n = 'imp_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($n); $n }

    $script:Tables = @('search_court', 'people_db_person', 'search_docket', 'search_opinioncluster', 'search_opinion', 'search_opinionscited', 'search_citation', 'search_opinioncluster_panel')
}

AfterAll {
    if (-not (Get-Variable -Name Created -Scope Script -ErrorAction SilentlyContinue)) { return }
    foreach ($db in $script:Created) {
        try { Invoke-Sql 'postgres' "DROP DATABASE IF EXISTS `"$db`" WITH (FORCE)" | Out-Null } catch { }
    }
    foreach ($d in $script:Dirs) { Remove-Item -Recurse -Force $d -ErrorAction SilentlyContinue }
}

Describe 'Invoke-BulkImport of a published dump' {
    # Each era's dump with the load script its exporter wrote beside it, which states its dialect: ESCAPE '\' today,
    # RFC 4180 for the FORCE_QUOTE and plain eras (their scripts state only FORMAT csv, HEADER), the backtick quote.
    It 'imports a <Dialect> dump (.csv.bz2, schema, load script) into a fresh database identical to its source' -ForEach @(
        @{ Dialect = 'Escape'; Reads = 'Escape' }, @{ Dialect = 'ForceQuote'; Reads = 'Rfc4180' }, @{ Dialect = 'Backtick'; Reads = 'Backtick' }, @{ Dialect = 'Plain'; Reads = 'Rfc4180' }
    ) {
        $d = New-Dump $Dialect
        $db = New-DbName
        $results = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -WarningVariable warned -WarningAction SilentlyContinue)
        $results | Where-Object Status -ne 'Imported' | Should -BeNullOrEmpty
        $results.Count | Should -Be 9
        # The schema script has a result of its own that counts its skipped statements, one per warning.
        $schema = $results | Where-Object Table -eq '(schema)'
        $schema.File | Should -BeLike '*schema-*.sql'
        # Skipped statements are one warning per kind with its count; the locale one (this server's) is a line of its own.
        $name = [IO.Path]::GetFileName($schema.File)
        $perLine = @($warned | Where-Object { "$_" -like "*$name line *" })
        $summed = ($warned | ForEach-Object { "$_" } | Where-Object { $_ -match "^$([regex]::Escape($name)): (\d+) statements? skipped" } | ForEach-Object { [int]([regex]::Match($_, ': (\d+) statements? skipped').Groups[1].Value) } | Measure-Object -Sum).Sum
        $schema.Warnings.Count | Should -Be ($summed + $perLine.Count)
        @($perLine | Where-Object { "$_" -notmatch 'skipped the locale of' }).Count | Should -Be 0
        $schema.Warnings.Count | Should -BeGreaterOrEqual 13
        @($schema.Warnings | Where-Object { $_ -match '^line \d+: role django does not exist' }).Count | Should -Be 9
        foreach ($f in $d.Dump.Files | Where-Object Kind -eq 'Data') {
            $r = $results | Where-Object Table -eq "public.$($f.Table)"
            $r.Rows | Should -Be $f.Rows -Because $f.Table
            $r.Dataset | Should -Be $f.Dataset
            $r.Dialect | Should -Be $Reads
            $r.Bytes | Should -Be $f.Size
        }
        foreach ($t in $script:Tables) {
            $expected = Export-Table $d.Source $t
            (Export-Table $db $t) | Should -BeExactly $expected -Because "table $t must equal its source byte for byte"
        }
        # Post-data ran: keys, foreign keys and indexes exist.
        [int](Invoke-Sql $db "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace") | Should -BeGreaterThan 3
        [int](Invoke-Sql $db "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND connamespace = 'public'::regnamespace") | Should -Be 8
    }

    It 'skips tables loaded from the same files on a second run, and reloads all with -Force' {
        $d = New-Dump
        $db = New-DbName
        $null = Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue
        $again = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue)
        $again.Status | Sort-Object -Unique | Should -Be 'Skipped'
        $forced = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -Force -WarningAction SilentlyContinue)
        $forced.Status | Sort-Object -Unique | Should -Be 'Imported'
        foreach ($t in $script:Tables) { (Export-Table $db $t) | Should -BeExactly (Export-Table $d.Source $t) }
        [int](Invoke-Sql $db 'SELECT count(*) FROM bulkdata.import_journal') | Should -Be 8
    }

    It 'loads plain .csv files into existing tables (no schema script), in replica mode, from the pipeline' {
        $d = New-Dump
        $db = New-DbName
        Invoke-Sql 'postgres' "CREATE DATABASE `"$db`"" | Out-Null
        $schema = Get-Content -Raw (Join-Path $script:RepoRoot 'tests/BulkData.TestKit/Fixture/courtlistener-subset.sql')
        Invoke-Sql $db $schema | Out-Null
        $csv = foreach ($f in $d.Dump.Files | Where-Object Kind -eq 'Data') {
            & lbzip2 -d -k $f.Path; if ($LASTEXITCODE) { throw 'lbzip2 failed' }
            Get-Item ($f.Path -replace '\.bz2$', '')
        }
        $results = @($csv | Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -Verbose 4>&1 | Tee-Object -Variable all | Where-Object { $_ -is [BulkData.Engine.Import.ImportResult] })
        $results.Count | Should -Be 8
        $results | Where-Object Status -ne 'Imported' | Should -BeNullOrEmpty
        ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" | Should -Match 'session_replication_role = replica'
        foreach ($t in $script:Tables) { (Export-Table $db $t) | Should -BeExactly (Export-Table $d.Source $t) }
    }

    It 'fails only the table whose file is corrupt, naming file, table and where' {
        $d = New-Dump
        $db = New-DbName
        $docket = $d.Dump.Files | Where-Object Table -eq 'search_docket'
        $bytes = [IO.File]::ReadAllBytes($docket.Path)
        for ($i = [int]($bytes.Length / 2); $i -lt [int]($bytes.Length / 2) + 64; $i++) { $bytes[$i] = $bytes[$i] -bxor 0x5A }
        [IO.File]::WriteAllBytes($docket.Path, $bytes)
        # And a truncated one: the first half of the opinions file.
        $opinions = $d.Dump.Files | Where-Object Table -eq 'search_opinion'
        $all = [IO.File]::ReadAllBytes($opinions.Path)
        [IO.File]::WriteAllBytes($opinions.Path, $all[0..([int]($all.Length / 2))])
        $results = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        @($results | Where-Object Status -eq 'Failed').Table | Sort-Object | Should -Be @('public.search_docket', 'public.search_opinion')
        @($results | Where-Object { $_.Status -eq 'Imported' -and $_.Table -ne '(schema)' }).Count | Should -Be 6
        ($results | Where-Object Table -eq 'public.search_opinion').Error | Should -Match ([regex]::Escape($opinions.Path))
        [int](Invoke-Sql $db 'SELECT count(*) FROM public.search_opinion') | Should -Be 0
        $errs.Count | Should -BeGreaterOrEqual 1
        $msg = ($errs | ForEach-Object { $_.Exception.Message }) -join "`n"
        $msg | Should -Match ([regex]::Escape($docket.Path))
        $msg | Should -Match 'search_docket'
        $msg | Should -Match 'byte'
        [int](Invoke-Sql $db 'SELECT count(*) FROM public.search_docket') | Should -Be 0
        [int](Invoke-Sql $db "SELECT count(*) FROM bulkdata.import_journal WHERE table_name = 'public.search_docket'") | Should -Be 0
        foreach ($t in $script:Tables | Where-Object { $_ -notin 'search_docket', 'search_opinion' }) { (Export-Table $db $t) | Should -BeExactly (Export-Table $d.Source $t) }
    }

    It 'writes a failed table''s error as soon as that table fails, before its result and the tables loaded after it' {
        $d = New-Dump
        $db = New-DbName
        # The largest file is loaded first (-ThrottleLimit 1): every other table comes after it.
        $big = $d.Dump.Files | Where-Object Kind -eq 'Data' | Sort-Object { (Get-Item $_.Path).Length } -Descending | Select-Object -First 1
        $bytes = [IO.File]::ReadAllBytes($big.Path)
        for ($i = [int]($bytes.Length / 2); $i -lt [int]($bytes.Length / 2) + 64; $i++) { $bytes[$i] = $bytes[$i] -bxor 0x5A }
        [IO.File]::WriteAllBytes($big.Path, $bytes)

        $stream = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -ThrottleLimit 1 -ErrorAction Continue -WarningAction SilentlyContinue 2>&1)

        $kinds = @($stream | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { "error:$($_.TargetObject.Table):$($_.FullyQualifiedErrorId)" } else { "$($_.Status):$($_.Table)" } })
        $at = [array]::IndexOf($kinds, "error:public.$($big.Table):ImportTableFailed,BulkData.Cmdlets.InvokeBulkImportCommand")
        $at | Should -BeGreaterOrEqual 0 -Because "the error is written: $($kinds -join ', ')"
        $kinds[$at + 1] | Should -Be "Failed:public.$($big.Table)"
        @($kinds[($at + 2)..($kinds.Count - 1)] | Where-Object { $_ -like 'Imported:public.*' }).Count | Should -BeGreaterThan 0 -Because "tables loaded after it come later: $($kinds -join ', ')"
        $kinds[-1] | Should -Be 'Imported:(schema)'
    }

    It 'fails a table with a wrong column count or invalid UTF-8 naming the line, and keeps the others' {
        $d = New-Dump
        $db = New-DbName
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        foreach ($f in $d.Dump.Files) {
            if ($f.Kind -eq 'Data') { & lbzip2 -d -c $f.Path > (Join-Path $dir ($f.FileName -replace '\.bz2$', '')) } else { Copy-Item $f.Path $dir }
        }
        $court = Join-Path $dir (($d.Dump.Files | Where-Object Table -eq 'search_court').FileName -replace '\.bz2$', '')
        $person = Join-Path $dir (($d.Dump.Files | Where-Object Table -eq 'people_db_person').FileName -replace '\.bz2$', '')
        # A record of two fields right after the header: line 2 of the file.
        $text = [IO.File]::ReadAllText($court)
        $cut = $text.IndexOf("`n") + 1
        [IO.File]::WriteAllText($court, $text.Substring(0, $cut) + "x,y`n" + $text.Substring($cut))
        $raw = [IO.File]::ReadAllBytes($person)
        $nl = [Array]::IndexOf($raw, [byte]10)
        # Inside a text value of line 2 (the first letter of 'Judge'), whether or not every value is quoted.
        $at = [Array]::IndexOf($raw, [byte][char]'J', $nl)
        $raw[$at] = 0xFF
        [IO.File]::WriteAllBytes($person, $raw)
        $results = @(Invoke-BulkImport -Path $dir -ConnectionString $script:PgConnectionString -Database $db -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        @($results | Where-Object Status -eq 'Failed').Table | Sort-Object | Should -Be @('public.people_db_person', 'public.search_court')
        @($results | Where-Object { $_.Status -eq 'Imported' -and $_.Table -ne '(schema)' }).Count | Should -Be 6
        $courtErr = ($results | Where-Object Table -eq 'public.search_court').Error
        $courtErr | Should -Match 'missing data for column'
        $courtErr | Should -Match 'line 2'
        $courtErr | Should -Match ([regex]::Escape($court))
        ($results | Where-Object Table -eq 'public.people_db_person').Error | Should -Match 'invalid byte sequence'
    }

    It 'names PostgreSQL''s own error, SQLSTATE and line for a file that ends inside a quoted value, not the client''s' {
        $d = New-Dump
        $db = New-DbName
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        foreach ($f in $d.Dump.Files) {
            if ($f.Kind -eq 'Data') { & lbzip2 -d -c $f.Path > (Join-Path $dir ($f.FileName -replace '\.bz2$', '')) } else { Copy-Item $f.Path $dir }
        }
        $court = Join-Path $dir (($d.Dump.Files | Where-Object Table -eq 'search_court').FileName -replace '\.bz2$', '')
        # A last record whose quoted value never closes (as the publisher's tracker reports for a 200 GB file).
        [IO.File]::AppendAllText($court, "`"never closed,`n")
        $lines = [IO.File]::ReadAllText($court).Split("`n").Count - 2   # the last line's number, before the one appended
        $results = @(Invoke-BulkImport -Path $dir -ConnectionString $script:PgConnectionString -Database $db -ErrorVariable errs -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $err = ($results | Where-Object Table -eq 'public.search_court').Error
        $err | Should -Match 'unterminated CSV quoted field'
        $err | Should -Match '\[SQLSTATE 22P04\]'
        # PostgreSQL names the line where the input ended: the open quoted value took in the last newline.
        $err | Should -Match "COPY search_court, line $($lines + 2)\b"
        $err | Should -Not -Match 'COPY operation has already ended'
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.search_court') | Should -Be 0 -Because 'the table was rolled back'
    }

    It 'refuses a header column the table lacks before loading any row' {
        # Found by the drift preflight before any table is emptied: one error for the run, nothing loaded.
        $d = New-Dump
        $db = New-DbName
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        $court = $d.Dump.Files | Where-Object Table -eq 'search_court'
        $csv = Join-Path $dir ($court.FileName -replace '\.bz2$', '')
        & lbzip2 -d -c $court.Path > $csv
        $lines = [IO.File]::ReadAllLines($csv); $lines[0] = $lines[0] -replace '^id,', 'id_renamed,'; [IO.File]::WriteAllLines($csv, $lines)
        Copy-Item ($d.Dump.Files | Where-Object Kind -eq 'Schema').Path $dir
        { Invoke-BulkImport -Path $dir -ConnectionString $script:PgConnectionString -Database $db -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ExpectedMessage '*nothing was loaded*public.search_court (courts-2026-09-30.csv): column(s) the table lacks: id_renamed; NOT NULL column(s) without a default the file lacks: id*'
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.search_court') | Should -Be 0
    }

    It 'imports a header-only file as a table of 0 rows' {
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        $db = New-DbName
        Invoke-Sql 'postgres' "CREATE DATABASE `"$db`"" | Out-Null
        Invoke-Sql $db 'CREATE TABLE public.search_opinioncluster_non_participating_judges (id integer PRIMARY KEY, opinioncluster_id integer NOT NULL, person_id integer NOT NULL)' | Out-Null
        Set-Content -Path (Join-Path $dir 'search-opinioncluster-non-participating-judges-2026-09-30.csv') -Value 'id,opinioncluster_id,person_id' -NoNewline:$false
        $r = Invoke-BulkImport -Path $dir -ConnectionString $script:PgConnectionString -Database $db
        $r.Status | Should -Be 'Imported'
        $r.Rows | Should -Be 0
    }

    It '-WhatIf writes no objects; -Plan outputs the plan; neither creates anything' {
        $d = New-Dump 'Backtick'
        $db = New-DbName
        $whatIf = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -WhatIf)
        $whatIf.Count | Should -Be 0
        $plan = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -Plan)
        $plan | ForEach-Object { $_ | Should -BeOfType ([BulkData.Engine.Import.ImportPlanStep]) }
        $plan[0].Step | Should -Be 'CreateDatabase'
        $plan[1].Step | Should -Be 'PreData'
        $plan[-1].Step | Should -Be 'PostData'
        $loads = @($plan | Where-Object Step -eq 'Load')
        $loads.Count | Should -Be 8
        $loads[0].Bytes | Should -BeGreaterOrEqual $loads[-1].Bytes
        $loads[0].Dialect | Should -Match 'Backtick'
        Invoke-Sql 'postgres' "SELECT count(*) FROM pg_database WHERE datname = '$db'" | Should -Be 0
    }

    It '-Verify outputs orphan and duplicate-key checks as objects' {
        $d = New-Dump
        $db = New-DbName
        $out = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -Verify -WarningAction SilentlyContinue)
        $checks = @($out | Where-Object { $_ -is [BulkData.Engine.Import.ImportVerification] })
        @($checks | Where-Object Check -eq 'Orphans').Count | Should -BeGreaterThan 3
        @($checks | Where-Object Check -eq 'DuplicateKeys').Count | Should -BeGreaterOrEqual 8
        $checks | Where-Object { -not $_.Passed } | ForEach-Object { "$($_.Check) $($_.Table) $($_.Constraint) $($_.Count)" } | Should -BeNullOrEmpty
    }
}

Describe 'Invoke-BulkImport connection and secrets' {
    It 'takes -Host/-Port/-Credential and PG* variables, and never shows the password' {
        $d = New-Dump
        $db = New-DbName
        $cred = [pscredential]::new($script:Builder.Username, (ConvertTo-SecureString $script:Password -AsPlainText -Force))
        $all = Invoke-BulkImport -Path $d.Dir -Host $script:Builder.Host -Port $script:Builder.Port -Credential $cred -Database $db -Verbose -Verify *>&1 | Out-String -Width 500
        $all | Should -Not -BeNullOrEmpty
        $all | Should -Not -Match ([regex]::Escape($script:Password))

        # A wrong password from PGPASSWORD: the error names the server, not the password.
        $old = @{ PGHOST = $env:PGHOST; PGPORT = $env:PGPORT; PGUSER = $env:PGUSER; PGPASSWORD = $env:PGPASSWORD }
        try {
            $env:PGHOST = $script:Builder.Host; $env:PGPORT = "$($script:Builder.Port)"; $env:PGUSER = $script:Builder.Username
            $env:PGPASSWORD = 'wrong-' + $script:Password
            $err = $null; $text = ''
            try { Invoke-BulkImport -Path $d.Dir -Database $db -Verbose *>&1 | Out-String -Width 500 | Set-Variable text } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty
            ($err | Out-String -Width 500) + $err.Exception.ToString() + $text | Should -Not -Match ([regex]::Escape($script:Password))
            $err.Exception.Message | Should -Match 'password authentication failed'

            $env:PGPASSWORD = $script:Password
            $ok = @(Invoke-BulkImport -Path $d.Dir -Database $db -Force -WarningAction SilentlyContinue)
            $ok.Status | Sort-Object -Unique | Should -Be 'Imported'
        } finally {
            foreach ($k in $old.Keys) { Set-Item "env:$k" -Value $old[$k] -ErrorAction SilentlyContinue; if (-not $old[$k]) { Remove-Item "env:$k" -ErrorAction SilentlyContinue } }
        }
    }
}

Describe 'Invoke-BulkImport resume after kill -9' {
    It 'ends with exactly the rows of the files after a child pwsh is killed mid-import' {
        $d = New-Dump -Extra @('--dockets', '3000', '--words', '400')
        $db = New-DbName
        $script = @"
Import-Module '$($script:ModulePath)'
Invoke-BulkImport -Path '$($d.Dir)' -ConnectionString '$($script:PgConnectionString)' -Database '$db' -ThrottleLimit 2 -WarningAction SilentlyContinue | Out-Null
"@
        $file = Join-Path $d.Dir 'child.ps1'; Set-Content $file $script
        $psi = [Diagnostics.ProcessStartInfo]::new($script:PwshCommand[0])
        foreach ($a in @($script:PwshCommand | Select-Object -Skip 1) + @('-NoProfile', '-File', $file)) { if ($a) { $psi.ArgumentList.Add($a) } }
        $p = [Diagnostics.Process]::Start($psi)
        # Wait until the journal shows at least one table but the import is not finished, then kill -9.
        $deadline = [DateTime]::UtcNow.AddSeconds(120)
        $loaded = 0
        while ([DateTime]::UtcNow -lt $deadline -and -not $p.HasExited) {
            try { $loaded = [int](Invoke-Sql $db 'SELECT count(*) FROM bulkdata.import_journal') } catch { }
            if ($loaded -ge 1) { break }
            Start-Sleep -Milliseconds 50
        }
        $p.HasExited | Should -BeFalse -Because 'the child must be killed mid-import'
        & kill -9 $p.Id
        $p.WaitForExit()
        [int](Invoke-Sql $db 'SELECT count(*) FROM bulkdata.import_journal') | Should -BeLessThan 8

        $results = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue)
        $results | Where-Object Status -eq 'Failed' | Should -BeNullOrEmpty
        @($results | Where-Object Status -eq 'Skipped').Count | Should -BeGreaterOrEqual 1
        foreach ($f in $d.Dump.Files | Where-Object Kind -eq 'Data') {
            [long](Invoke-Sql $db "SELECT count(*) FROM public.$($f.Table)") | Should -Be $f.Rows
        }
        foreach ($t in $script:Tables) { (Export-Table $db $t) | Should -BeExactly (Export-Table $d.Source $t) }
        [int](Invoke-Sql $db "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND connamespace = 'public'::regnamespace") | Should -Be 8
    }
}

Describe 'Two imports into one database' {
    BeforeAll {
        function Start-ChildImport([string] $Dir, [string] $Database, [string] $Extra = '') {
            $id = [guid]::NewGuid().ToString('N').Substring(0, 6)
            $result = Join-Path $Dir "child-$id.json"
            $file = Join-Path $Dir "child-$id.ps1"
            @"
Import-Module '$($script:ModulePath)'
# A terminating error is kept in -ErrorVariable as the exception that carries its ErrorRecord.
`$r = @(Invoke-BulkImport -Path '$Dir' -ConnectionString '$($script:PgConnectionString)' -Database '$Database' $Extra -ThrottleLimit 2 -WarningAction SilentlyContinue -ErrorVariable errs -Verbose 4>'$result.verbose')
[pscustomobject]@{ Status = @(`$r | Where-Object Table -ne '(schema)' | ForEach-Object { "`$(`$_.Status)" }); Errors = @(`$errs | ForEach-Object { `$e = if (`$_ -is [System.Management.Automation.ErrorRecord]) { `$_ } else { `$_.ErrorRecord }; "`$(`$e.FullyQualifiedErrorId)|`$(`$e.CategoryInfo.Category)|`$(`$e.Exception.Message)" }) } | ConvertTo-Json | Set-Content '$result'
"@ | Set-Content $file
            $psi = [Diagnostics.ProcessStartInfo]::new($script:PwshCommand[0])
            foreach ($a in @($script:PwshCommand | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $file)) { if ($a) { $psi.ArgumentList.Add($a) } }
            $psi.UseShellExecute = $false; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
            $p = [Diagnostics.Process]::Start($psi)
            [pscustomobject]@{ Process = $p; Result = $result; Stdout = $p.StandardOutput.ReadToEndAsync(); Stderr = $p.StandardError.ReadToEndAsync() }
        }

        function Wait-ChildImport($Child, [int] $Seconds = 240) {
            if (-not $Child.Process.WaitForExit($Seconds * 1000)) { $Child.Process.Kill($true); throw "The child import did not end within $Seconds s." }
            if (-not (Test-Path $Child.Result)) { throw "The child import wrote no result. stdout: $($Child.Stdout.Result) stderr: $($Child.Stderr.Result)" }
            Get-Content -Raw $Child.Result | ConvertFrom-Json
        }
    }

    It 'two imports started together end with exact tables: one loads, the other waits for its lock and skips' {
        $d = New-Dump
        $db = New-DbName
        $a = Start-ChildImport $d.Dir $db
        $b = Start-ChildImport $d.Dir $db
        $ra = Wait-ChildImport $a; $rb = Wait-ChildImport $b
        $ra.Errors | Should -BeNullOrEmpty; $rb.Errors | Should -BeNullOrEmpty
        $sa = @($ra.Status | Sort-Object -Unique) -join ','
        $sb = @($rb.Status | Sort-Object -Unique) -join ','
        @($sa, $sb) | Sort-Object | Should -Be @('Imported', 'Skipped')
        $waiter = if (($ra.Status | Select-Object -First 1) -eq 'Skipped') { $a } else { $b }
        $owner = if ($waiter -eq $a) { $b } else { $a }
        (Get-Content -Raw "$($waiter.Result).verbose") | Should -Match "The database '$db' is being imported by BulkData import pid $($owner.Process.Id) .+ \(server session \d+ from .+\): waiting"
        foreach ($t in $script:Tables) { (Export-Table $db $t) | Should -BeExactly (Export-Table $d.Source $t) }
        [int](Invoke-Sql $db 'SELECT count(*) FROM bulkdata.import_journal') | Should -Be 8
    }

    It 'a second import while the first runs refuses at once with -NoWait, naming the first; the first ends exact' {
        # Deterministic, whatever the machine's load: the first import is held inside its run. A first load gives
        # the database its tables; this test then locks one of them, so the -Force child takes the import lock and
        # waits on that table until the test lets it go.
        $d = New-Dump
        $db = New-DbName
        $null = Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue
        $blocker = [Npgsql.NpgsqlConnection]::new((Get-Cs $db))
        $blocker.Open()
        $first = $null
        try {
            $tx = $blocker.BeginTransaction()
            $cmd = $blocker.CreateCommand(); $cmd.Transaction = $tx
            $cmd.CommandText = 'LOCK TABLE public.search_court IN ACCESS EXCLUSIVE MODE'; $null = $cmd.ExecuteNonQuery()
            $first = Start-ChildImport $d.Dir $db '-Force'
            $heldSql = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'BulkData import pid $($first.Process.Id) %'"
            $waitingSql = "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'relation' AND relation = 'public.search_court'::regclass"
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while (-not ([int](Invoke-Sql 'postgres' $heldSql) -gt 0 -and [int](Invoke-Sql $db $waitingSql) -gt 0)) {
                if ($first.Process.HasExited) { throw "The first import ended before it waited on the locked table. stderr: $($first.Stderr.Result)" }
                if ([DateTime]::UtcNow -gt $deadline) { throw 'The first import neither took its lock nor waited on the locked table within 120 s.' }
                Start-Sleep -Milliseconds 100
            }
            # The second in a process of its own: if it waited instead of refusing, it would wait on this test's
            # lock for ever; here it is killed after 120 s and the test fails.
            $second = Start-ChildImport $d.Dir $db '-Force -NoWait'
            $rs = Wait-ChildImport $second 120
            $rs.Errors | Should -HaveCount 1 -Because '-NoWait must refuse while the first import holds the lock'
            $id, $category, $message = $rs.Errors[0] -split '\|', 3
            $id | Should -BeLike 'InUse*'
            $category | Should -Be 'ResourceBusy'
            $message | Should -Match "The database '$db' is being imported by BulkData import pid $($first.Process.Id) .+; -NoWait was given, so nothing was done"
            $rs.Status | Should -BeNullOrEmpty -Because 'the refused import loads nothing'
            $first.Process.HasExited | Should -BeFalse -Because 'the first import is still held on the locked table'
        } finally {
            # Ending the blocking transaction lets the first import go on.
            $blocker.Dispose()
        }
        $r = Wait-ChildImport $first
        $r.Errors | Should -BeNullOrEmpty
        $r.Status | Sort-Object -Unique | Should -Be 'Imported'
        foreach ($t in $script:Tables) { (Export-Table $db $t) | Should -BeExactly (Export-Table $d.Source $t) }
    }
}

Describe 'Invoke-BulkImport of the real CourtListener schema' {
    It 'creates the 109 tables of ../shared schema-2024-12-31.sql and applies post-data after an (empty) load' {
        # ../shared next to the repository, or next to a folder above it (a worktree kept one level deeper).
        $real = Join-Path $script:SharedFixtures 'schema-2024-12-31.sql'
        for ($dir = Split-Path $script:RepoRoot; $dir -and -not (Test-Path $real); $dir = Split-Path $dir) {
            $candidate = Join-Path $dir 'shared/fixtures/courtlistener/schema-2024-12-31.sql'
            if (Test-Path $candidate) { $real = $candidate }
        }
        if (-not (Test-Path $real)) { Set-ItResult -Skipped -Because "the real schema is not in ../shared/fixtures/courtlistener ($real)"; return }
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        $db = New-DbName
        $verbose = $( $r = @(Invoke-BulkImport -Path $dir -Schema $real -ConnectionString $script:PgConnectionString -Database $db -WarningVariable w -WarningAction SilentlyContinue -Verbose) ) 4>&1
        # No table files: the one result is the schema script's, listing every statement it skipped.
        $r.Count | Should -Be 1
        $r[0].Table | Should -Be '(schema)'
        $r[0].Warnings.Count | Should -BeGreaterOrEqual 390
        # Each skipped statement is on -Verbose with its line; the warnings are one per kind, with its count.
        $r[0].Warnings.Count | Should -Be (@($verbose | Where-Object { "$_" -like "*schema-2024-12-31.sql line *: skipped '*" -and "$_" -notmatch "' again: " }).Count + @($w | Where-Object { "$_" -match 'skipped the locale of' }).Count)
        @($w | Where-Object { "$_" -like '*schema-2024-12-31.sql line *' -and "$_" -notmatch 'skipped the locale of' }).Count | Should -Be 0
        $summary = @($w | ForEach-Object { "$_" } | Where-Object { $_ -match '^schema-2024-12-31\.sql: \d+ statements? skipped' })
        $summary.Count | Should -Be 5
        $summary[0] | Should -Match '^schema-2024-12-31\.sql: 212 statements skipped \(lines \d+-\d+\): role django does not exist \(-Verbose shows each\)\.$'
        $locale = @($w | Where-Object { "$_" -match 'skipped the locale of' }).Count
        ($summary | ForEach-Object { [int]([regex]::Match($_, ': (\d+) statements? skipped').Groups[1].Value) } | Measure-Object -Sum).Sum + $locale | Should -Be $r[0].Warnings.Count
        $w.Count | Should -BeLessOrEqual 7
        [int](Invoke-Sql $db "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") | Should -Be 109
        [int](Invoke-Sql $db "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace") | Should -BeGreaterOrEqual 100
        [int](Invoke-Sql $db "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'") | Should -Be 602
        [int](Invoke-Sql $db "SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data'") | Should -Be 1
        $w.Count | Should -BeGreaterThan 0
    }
}
