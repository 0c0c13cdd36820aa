# Invoke-BulkImport with dumps shaped like the publisher's real ones (issue 11): orphans, drift, dialects.
# Real PostgreSQL 15 started by build.ps1 test; dumps made by the test kit.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'dependencies/Npgsql.dll')
    Initialize-TestCleanup

    function New-Dump([string[]] $Extra = @()) {
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        $src = 'src_' + [guid]::NewGuid().ToString('N').Substring(0, 8); $script:Created.Add($src)
        $dump = Publish-TestDump -Bucket (New-TestName 'real') -OutDir $dir -SourceDb $src -Extra (@('--dockets', '12') + $Extra)
        [pscustomobject]@{ Dir = $dir; Dump = $dump; Source = $src }
    }

    function New-DbName { $n = 'real_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($n); $n }

    # Indexes (primary keys included) and constraints of the public schema, as one sorted list of names.
    function Get-Objects([string] $Database, [string] $What) {
        $sql = switch ($What) {
            'Indexes' { "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'" }
            'Constraints' { "SELECT string_agg(conname || ':' || contype::text, ',' ORDER BY conname) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'" }
            'NotValid' { "SELECT coalesce(string_agg(conname, ',' ORDER BY conname), '') FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND NOT convalidated" }
        }
        @((Invoke-Sql $Database $sql) -split ',' | Where-Object { $_ })
    }

    function Get-SchemaConstraints {
        # Every constraint the kit's schema declares (the source of an orphan dump lost its key on purpose).
        $schema = Get-Content -Raw (Join-Path $script:RepoRoot 'tests/BulkData.TestKit/Fixture/courtlistener-subset.sql')
        @([regex]::Matches($schema, '\bCONSTRAINT (\w+)') | ForEach-Object { $_.Groups[1].Value } | Sort-Object)
    }
}

AfterAll {
    Remove-TestCleanup
}

Describe 'Orphans never cost indexes' {
    BeforeAll {
        $script:Orphaned = New-Dump -Extra @('--orphans', 'search_opinion.cluster_id=2,search_citation.cluster_id=1')
    }

    It 'keeps every index and key; the foreign keys with orphans are NOT VALID and reported with their keys' {
        $d = $script:Orphaned
        $db = New-DbName
        $results = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -WarningVariable warnings -WarningAction SilentlyContinue)
        @($results | Where-Object Status -ne 'Imported') | Should -BeNullOrEmpty
        # Every index of the source (it kept all of them), primary keys included, and every constraint of the schema.
        Get-Objects $db 'Indexes' | Should -Be (Get-Objects $d.Source 'Indexes')
        @(Get-Objects $db 'Constraints' | ForEach-Object { ($_ -split ':')[0] } | Sort-Object) | Should -Be (Get-SchemaConstraints)
        @(Get-Objects $db 'Constraints' | Where-Object { $_ -like '*:p' }).Count | Should -Be 8
        # Only the two keys with orphans are left NOT VALID; every row is there.
        Get-Objects $db 'NotValid' | Should -Be @('search_citation_cluster_id_fk_search_opinioncluster_id', 'search_opinion_cluster_id_fk_search_opinioncluster_id')
        foreach ($t in 'search_opinion', 'search_citation') {
            [long](Invoke-Sql $db "SELECT count(*) FROM public.$t") | Should -Be ([long](Invoke-Sql $d.Source "SELECT count(*) FROM public.$t"))
        }
        # The schema's result lists them, with the count and the orphans' keys; one warning per foreign key.
        $schema = $results | Where-Object Table -eq '(schema)'
        $o = @($schema.Orphans | Sort-Object Table)
        $o.Count | Should -Be 2
        $opinion = $o | Where-Object Table -eq 'public.search_opinion'
        $opinion.Constraint | Should -Be 'search_opinion_cluster_id_fk_search_opinioncluster_id'
        $opinion.Count | Should -Be 2
        $opinion.Validated | Should -BeFalse
        $expected = @(($d.Dump.Orphans | Where-Object Table -eq 'search_opinion').Keys | ForEach-Object { "$_" })
        @($opinion.SampleKeys) | Should -Be $expected
        ($o | Where-Object Table -eq 'public.search_citation').Count | Should -Be 1
        @($warnings | Where-Object { "$_" -match 'orphan row' }).Count | Should -Be 2
        @($warnings | Where-Object { "$_" -match 'search_opinion_cluster_id_fk_search_opinioncluster_id' -and "$_" -match 'NOT VALID' -and "$_" -match [regex]::Escape($expected[0]) }).Count | Should -Be 1
        # The NOT VALID key still guards new rows.
        { Invoke-Sql $db 'BEGIN; INSERT INTO public.search_citation SELECT id + 100000, volume, reporter, page, type, 999999 FROM public.search_citation LIMIT 1; SET CONSTRAINTS ALL IMMEDIATE; COMMIT' } | Should -Throw '*foreign key*'
        # Each post-data statement is its own journal step.
        [long](Invoke-Sql $db "SELECT count(*) FROM bulkdata.import_steps WHERE step LIKE 'post-data line %'") | Should -BeGreaterThan 30

        # -RemoveOrphans: the citation's orphan (a leaf) is deleted and its key validated; the opinions' orphans are
        # cited by other rows, so they stay, with their key NOT VALID and the reason in the warning.
        $again = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -RemoveOrphans -WarningVariable w2 -WarningAction SilentlyContinue)
        @($again | Where-Object { $_.Table -ne '(schema)' } | Where-Object Status -ne 'Skipped') | Should -BeNullOrEmpty
        $o2 = @(($again | Where-Object Table -eq '(schema)').Orphans)
        $cit = $o2 | Where-Object Table -eq 'public.search_citation'
        $cit.Removed | Should -Be 1
        $cit.Validated | Should -BeTrue
        $op = $o2 | Where-Object Table -eq 'public.search_opinion'
        $op.Removed | Should -Be 0
        $op.Validated | Should -BeFalse
        Get-Objects $db 'NotValid' | Should -Be @('search_opinion_cluster_id_fk_search_opinioncluster_id')
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.search_citation') | Should -Be ([long](Invoke-Sql $d.Source 'SELECT count(*) FROM public.search_citation') - 1)
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.search_opinion') | Should -Be ([long](Invoke-Sql $d.Source 'SELECT count(*) FROM public.search_opinion'))
        @($w2 | Where-Object { "$_" -match 'removed 1 orphan row' }).Count | Should -Be 1
        ($w2 | Where-Object { "$_" -match "could not be removed" }) -join " | " | Should -Match "search_opinionscited"
    }

    It 'resumes post-data after the last step done' {
        $d = $script:Orphaned
        $db = New-DbName
        $null = Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue
        # As if the run had stopped before one index and the end of post-data: that index and its step are gone.
        $index = 'search_citation_volume_ae340b5b02e8912_idx'
        $null = Invoke-Sql $db "DROP INDEX public.$index; DELETE FROM bulkdata.import_steps WHERE step = 'post-data'"
        $schema = Get-Content -Raw ($d.Dump.Files | Where-Object Kind -eq 'Schema').Path
        $n = ($schema.Substring(0, $schema.IndexOf("INDEX $index ")) -split "`n").Count
        $null = Invoke-Sql $db "DELETE FROM bulkdata.import_steps WHERE step = 'post-data line $n'"
        [long](Invoke-Sql $db "SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data'") | Should -Be 0
        $again = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -Verbose -WarningAction SilentlyContinue 4>&1)
        # Every other statement is skipped by the journal (running one again would fail: its object exists).
        ($again | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match 'post-data applied \(1 statement\(s\), (\d+) done by an earlier run' }) | Should -Not -BeNullOrEmpty
        Get-Objects $db 'Indexes' | Should -Be (Get-Objects $d.Source 'Indexes')
        [long](Invoke-Sql $db "SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data'") | Should -Be 1
    }
}

Describe 'Drift is found before anything is touched' {
    It 'reports drift in two tables together, in one error, with nothing loaded' {
        # A newer dump (a column more in dockets, a NOT NULL column less in opinions) into an older live database.
        $d = New-Dump -Extra @('--extra-column', 'search_docket.docket_number_raw', '--drop-column', 'search_opinion.sha1')
        $db = New-DbName
        Invoke-Sql 'postgres' "CREATE DATABASE `"$db`"" | Out-Null
        Invoke-Sql $db (Get-Content -Raw (Join-Path $script:RepoRoot 'tests/BulkData.TestKit/Fixture/courtlistener-subset.sql')) | Out-Null
        Invoke-Sql $db "INSERT INTO public.search_court (id, date_modified, in_use, has_opinion_scraper, has_oral_argument_scraper, position, citation_string, short_name, full_name, url, jurisdiction, notes, fjc_court_id, pacer_rss_entry_types) VALUES ('keep', now(), true, false, false, 9999, '', 'k', 'Kept', 'https://example.invalid/', 'F', '', '', '')" | Out-Null
        $data = @($d.Dump.Files | Where-Object Kind -eq 'Data' | ForEach-Object Path)
        $err = $null
        try { $null = Invoke-BulkImport -Path $data -ConnectionString $script:PgConnectionString -Database $db -ErrorAction Stop -WarningAction SilentlyContinue } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $msg = "$err"
        $msg | Should -Match '2 table\(s\)'
        $msg | Should -Match 'public\.search_docket \(dockets-2026-09-30\.csv\.bz2\): column\(s\) the table lacks: docket_number_raw'
        $msg | Should -Match 'public\.search_opinion \(opinions-2026-09-30\.csv\.bz2\): NOT NULL column\(s\) without a default the file lacks: sha1'
        $msg | Should -Match 'nothing was loaded'
        # Nothing touched: the existing row is there, no table got a row, the journal has no table.
        [long](Invoke-Sql $db "SELECT count(*) FROM public.search_court WHERE id = 'keep'") | Should -Be 1
        [long](Invoke-Sql $db "SELECT count(*) FROM public.search_court") | Should -Be 1
        foreach ($t in 'search_docket', 'search_opinion', 'search_opinioncluster', 'people_db_person') {
            [long](Invoke-Sql $db "SELECT count(*) FROM public.$t") | Should -Be 0 -Because $t
        }
        [long](Invoke-Sql $db "SELECT count(*) FROM bulkdata.import_journal") | Should -Be 0
    }

    It '-ExcludeExtraColumns loads the shared columns, dropping the others from each record, counted' {
        $d = New-Dump -Extra @('--extra-column', 'search_docket.docket_number_raw')
        $db = New-DbName
        Invoke-Sql 'postgres' "CREATE DATABASE `"$db`"" | Out-Null
        Invoke-Sql $db (Get-Content -Raw (Join-Path $script:RepoRoot 'tests/BulkData.TestKit/Fixture/courtlistener-subset.sql')) | Out-Null
        $data = @($d.Dump.Files | Where-Object Kind -eq 'Data' | ForEach-Object Path)
        { Invoke-BulkImport -Path $data -ConnectionString $script:PgConnectionString -Database $db -ErrorAction Stop -WarningAction SilentlyContinue } | Should -Throw '*docket_number_raw*'
        $results = @(Invoke-BulkImport -Path $data -ConnectionString $script:PgConnectionString -Database $db -ExcludeExtraColumns -WarningAction SilentlyContinue)
        @($results | Where-Object Status -ne 'Imported') | Should -BeNullOrEmpty
        $dockets = $results | Where-Object Table -eq 'public.search_docket'
        @($dockets.ExcludedColumns) | Should -Be @('docket_number_raw')
        $dockets.DroppedValues | Should -Be $dockets.Rows
        $dockets.Rows | Should -Be ([long](Invoke-Sql $d.Source 'SELECT count(*) FROM public.search_docket'))
        @($dockets.Warnings) -join ' ' | Should -Match 'docket_number_raw'
        ($results | Where-Object Table -eq 'public.search_court').ExcludedColumns | Should -BeNullOrEmpty
        # Every shared column holds exactly the source's values (the dropped column's quotes did not shift anything).
        $cols = Invoke-Sql $db "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.search_docket'::regclass AND attnum > 0 AND NOT attisdropped"
        $digest = "SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM (SELECT $cols FROM public.search_docket) t"
        Invoke-Sql $db $digest | Should -Be (Invoke-Sql $d.Source $digest)
    }
}

Describe 'The dialect comes from the bytes, and is checked against them' {
    # The kit dates each era's dump in its era (Plain 2023-05-31, ForceQuote 2023-12-04, Backtick 2024-12-31, Escape
    # 2026-09-30): tables whose first blocks cannot tell the dialects apart are read by the dump date's prior, which
    # must then be the era's dialect; the others are sniffed. Every table is read in its era's dialect either way.
    It 'imports a <Dialect> dump of <Date> without its load script identical to its source (<Reads>, prior used: <PriorUsed>)' -ForEach @(
        @{ Dialect = 'Escape'; Reads = 'Escape'; Date = '2026-09-30'; PriorUsed = $true }
        @{ Dialect = 'ForceQuote'; Reads = 'Rfc4180'; Date = '2023-12-04'; PriorUsed = $true }
        @{ Dialect = 'Backtick'; Reads = 'Backtick'; Date = '2024-12-31'; PriorUsed = $false }
        @{ Dialect = 'Plain'; Reads = 'Rfc4180'; Date = '2023-05-31'; PriorUsed = $true }
    ) {
        $d = New-Dump -Extra @('--dialect', $Dialect)
        $d.Dump.DumpDate | Should -Be $Date
        Remove-Item ($d.Dump.Files | Where-Object Kind -eq 'LoadScript').Path
        $db = New-DbName
        $results = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue)
        @($results | Where-Object Status -ne 'Imported') | Should -BeNullOrEmpty
        $tables = @($results | Where-Object Table -ne '(schema)')
        $tables.Count | Should -Be 8
        foreach ($r in $tables) {
            $r.Dialect | Should -Be $Reads -Because "$($r.Table) is read in its era's dialect, sniffed or by the prior of $Date"
            $r.DialectReason | Should -Match "^(sniffed|prior \(dump of $Date\))$" -Because $r.Table
        }
        @($tables | Where-Object DialectReason -like 'prior*').Count -gt 0 | Should -Be $PriorUsed -Because 'the tables without a telling quote are read by the prior'
        ($results | Where-Object Table -eq 'public.search_opinion').DialectReason | Should -Be 'sniffed'
        foreach ($t in 'search_court', 'people_db_person', 'search_docket', 'search_opinioncluster', 'search_opinion', 'search_opinionscited', 'search_citation', 'search_opinioncluster_panel') {
            (Export-Table $db $t) | Should -BeExactly (Export-Table $d.Source $t) -Because "table $t must equal its source"
        }
    }

    It 'catches a deliberately wrong -Dialect <Wrong> on a <Dialect> dump, naming the dialect to use, loading nothing of it' -ForEach @(
        @{ Dialect = 'ForceQuote'; Wrong = 'Escape'; Use = 'Rfc4180' }
        @{ Dialect = 'Escape'; Wrong = 'Rfc4180'; Use = 'Escape' }
    ) {
        $d = New-Dump -Extra @('--dialect', $Dialect)
        $db = New-DbName
        $results = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -Dialect $Wrong -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $opinion = $results | Where-Object Table -eq 'public.search_opinion'
        $opinion.Status | Should -Be 'Failed'
        $opinion.Error | Should -Match "not in the $Wrong dialect"
        $opinion.Error | Should -Match "use -Dialect $Use"
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.search_opinion') | Should -Be 0
    }

    It 'rolls back and reloads a table whose bytes contradict the prior the dump''s date gave' {
        # A 2026 file (prior: ESCAPE '\') in RFC 4180 whose first doubled quote comes after the first blocks.
        $db = New-DbName
        Invoke-Sql 'postgres' "CREATE DATABASE `"$db`"" | Out-Null
        Invoke-Sql $db 'CREATE TABLE public.notes (id integer PRIMARY KEY, body text NOT NULL)' | Out-Null
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        $csv = Join-Path $dir 'notes-2026-09-30.csv'
        $sb = [System.Text.StringBuilder]::new("id,body`n")
        foreach ($i in 1..60000) { $null = $sb.Append("`"$i`",`"padding text, no quote inside, row $i`"`n") }
        $null = $sb.Append("`"60001`",`"say `"`"hi`"`"`"`n")
        [IO.File]::WriteAllText($csv, $sb.ToString())
        (Get-Item $csv).Length | Should -BeGreaterThan (2MB)
        $r = Invoke-BulkImport -Path $csv -ConnectionString $script:PgConnectionString -Database $db -TableMap @{ notes = 'public.notes' } -WarningVariable w -WarningAction SilentlyContinue
        $r.Status | Should -Be 'Imported'
        $r.Rows | Should -Be 60001
        $r.Dialect | Should -Be 'Rfc4180'
        $r.DialectReason | Should -Match '^sniffed \(reloaded: Escape misread'
        ($w | Where-Object { "$_" -match 'doubled quote' -and "$_" -match 'line 60002' -and "$_" -match 'again as Rfc4180' }) | Should -Not -BeNullOrEmpty
        Invoke-Sql $db 'SELECT body FROM public.notes WHERE id = 60001' | Should -BeExactly 'say "hi"'
    }
}
