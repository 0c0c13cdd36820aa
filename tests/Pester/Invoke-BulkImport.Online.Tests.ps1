# Invoke-BulkImport -Online, -KeepPrevious and Undo-BulkImport against the real PostgreSQL 15 of build.ps1 test:
# a database made from one dump is refreshed from another while a reader queries it.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-TestNpgsql
    $script:Created = [System.Collections.Generic.List[string]]::new()
    $script:Dirs = [System.Collections.Generic.List[string]]::new()
    $script:Role = 'bulk_reader_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $script:Tables = @('search_court', 'people_db_person', 'search_docket', 'search_opinioncluster', 'search_opinion', 'search_opinionscited', 'search_citation', 'search_opinioncluster_panel')

    function New-OnlineDump([string] $Date, [string[]] $Extra = @()) {
        $dir = New-TestDirectory
        $script:Dirs.Add($dir)
        $src = 'src_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $script:Created.Add($src)
        $dump = Publish-TestDump -Bucket (New-TestName 'onl') -OutDir $dir -SourceDb $src -Extra (@('--date', $Date) + $Extra)
        [pscustomobject]@{ Dir = $dir; Dump = $dump; Source = $src }
    }

    # What a reader sees in one statement (one snapshot): the row counts of four tables.
    $script:CountSql = 'SELECT (SELECT count(*) FROM public.search_docket) || ''/'' || (SELECT count(*) FROM public.search_opinion) || ''/'' || (SELECT count(*) FROM public.search_opinioncluster) || ''/'' || (SELECT count(*) FROM public.search_citation)'
    function Get-Generation([string] $Database) { Invoke-Sql $Database $script:CountSql }
    function Get-DumpGeneration($Dump) {
        $rows = @{}; foreach ($f in $Dump.Dump.Files | Where-Object Kind -eq 'Data') { $rows[$f.Table] = $f.Rows }
        "$($rows['search_docket'])/$($rows['search_opinion'])/$($rows['search_opinioncluster'])/$($rows['search_citation'])"
    }
    # The indexes and keys of the live tables, as the catalog states them.
    $script:ShapeSql = @"
SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid) || ' ' || convalidated FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT 'trigger', tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text NOT LIKE 'bulkdata%'
ORDER BY 1, 2, 3
"@

    $script:A = New-OnlineDump '2026-09-30'
    # The dump refreshed under the reader. BULKDATA_TEST_ONLINE_MB sets the CSV size of its largest table
    # (search_opinion, about 300 + 7 * words bytes a row) for a run by hand, e.g. 100 (docs/online.md has the
    # figures); the suite's default is small, for time.
    $script:OnlineMb = [int]$(if ($env:BULKDATA_TEST_ONLINE_MB) { $env:BULKDATA_TEST_ONLINE_MB } else { 0 })
    $sizeB = if ($script:OnlineMb -gt 0) { @('--dockets', [string][math]::Ceiling($script:OnlineMb * 1MB / (300 + 7 * 700)), '--words', '700') } else { @('--dockets', '150', '--words', '60') }
    $script:B = New-OnlineDump '2026-12-31' $sizeB
    $script:Db = 'onl_' + [guid]::NewGuid().ToString('N').Substring(0, 10)
    $script:Created.Add($script:Db)
    $null = Invoke-BulkImport -Path $A.Dir -ConnectionString $script:PgConnectionString -Database $Db -WarningAction SilentlyContinue
    # The application's own table, outside the dump, with a foreign key to dockets; a role with a grant; a
    # function naming a table (resolved by name when it runs).
    $null = Invoke-Sql $Db "CREATE TABLE public.app_bookmark (id serial PRIMARY KEY, docket_id integer NOT NULL REFERENCES public.search_docket (id))"
    $null = Invoke-Sql $Db "INSERT INTO public.app_bookmark (docket_id) SELECT min(id) FROM public.search_docket"
    $null = Invoke-Sql 'postgres' "CREATE ROLE $Role NOLOGIN"
    $null = Invoke-Sql $Db "GRANT SELECT ON public.search_docket TO $Role"
    $null = Invoke-Sql $Db "CREATE FUNCTION public.docket_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.search_docket'"
}

AfterAll {
    if (-not (Get-Variable -Name Created -Scope Script -ErrorAction SilentlyContinue)) { return }
    foreach ($db in $script:Created) {
        try { Invoke-Sql 'postgres' "DROP DATABASE IF EXISTS `"$db`" WITH (FORCE)" | Out-Null } catch { }
    }
    try { Invoke-Sql 'postgres' "DROP ROLE IF EXISTS $($script:Role)" | Out-Null } catch { }
    foreach ($d in $script:Dirs) { Remove-Item -Recurse -Force $d -ErrorAction SilentlyContinue }
}

Describe 'Invoke-BulkImport -Online' {
    It 'refreshes the live tables while a reader never fails, never waits over 2 s and always sees one whole generation' {
        $genA = Get-DumpGeneration $A; $genB = Get-DumpGeneration $B
        $genA | Should -Not -Be $genB
        Get-Generation $Db | Should -Be $genA
        $shapeBefore = Get-TestRows $Db $script:ShapeSql
        $bytes = [long](Invoke-Sql $Db "SELECT sum(pg_total_relation_size(('public.' || t)::regclass)) FROM unnest('{$($script:Tables -join ',')}'::text[]) t")
        $oldDocket = [long](Invoke-Sql $Db "SELECT 'public.search_docket'::regclass::oid")

        # The reader: its own connection, lock_timeout 2 s, a query every 100 ms, each timed.
        $state = [hashtable]::Synchronized(@{ Stop = $false; Samples = [System.Collections.ArrayList]::Synchronized([System.Collections.ArrayList]::new()) })
        $reader = Start-ThreadJob -ArgumentList $state, (Get-Cs $Db), $script:CountSql -ScriptBlock {
            param($State, $Cs, $Sql)
            $conn = [Npgsql.NpgsqlConnection]::new($Cs); $conn.Open()
            $cmd = $conn.CreateCommand(); $cmd.CommandText = "SET lock_timeout = '2s'"; $null = $cmd.ExecuteNonQuery()
            $cmd.CommandText = $Sql
            while (-not $State.Stop) {
                $watch = [Diagnostics.Stopwatch]::StartNew()
                try { $seen = $cmd.ExecuteScalar(); $err = $null } catch { $seen = $null; $err = $_.Exception.Message }
                $null = $State.Samples.Add([pscustomobject]@{ Ms = $watch.Elapsed.TotalMilliseconds; Seen = $seen; Error = $err })
                Start-Sleep -Milliseconds 100
            }
            $conn.Dispose()
        }
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while ($state.Samples.Count -lt 3 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
            $out = @(Invoke-BulkImport -Path $B.Dir -ConnectionString $script:PgConnectionString -Database $Db -Online -WarningVariable warned -WarningAction SilentlyContinue -ErrorAction Stop -Verbose 4>&1)
            $after = $state.Samples.Count
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while ($state.Samples.Count -lt $after + 3 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        } finally {
            $state.Stop = $true
            $null = $reader | Wait-Job -Timeout 30
            $reader | Remove-Job -Force
        }

        $samples = @($state.Samples)
        $opinionBytes = [long](Invoke-Sql $B.Source "SELECT sum(octet_length(t::text)) FROM public.search_opinion t")
        Write-Host ("    reader: {0} samples, longest wait {1:N0} ms, errors {2}, mixed generations {3}; largest table search_opinion about {4:N1} MB as text ({5:N1} MB in PostgreSQL)" -f $samples.Count,
            ($samples | Measure-Object Ms -Maximum).Maximum, @($samples | Where-Object Error).Count, @($samples | Where-Object { $_.Seen -ne $genA -and $_.Seen -ne $genB }).Count,
            ($opinionBytes / 1MB), ([long](Invoke-Sql $B.Source "SELECT pg_table_size('public.search_opinion')") / 1MB))
        $samples.Count | Should -BeGreaterThan 6
        @($samples | Where-Object Error) | Should -BeNullOrEmpty
        ($samples | Measure-Object Ms -Maximum).Maximum | Should -BeLessThan 2000
        @($samples | Where-Object { $_.Seen -ne $genA -and $_.Seen -ne $genB }) | Should -BeNullOrEmpty
        $samples[0].Seen | Should -Be $genA
        $samples[-1].Seen | Should -Be $genB
        # Once the new generation is seen, never the old one again.
        $firstB = [array]::FindIndex([object[]]$samples, [Predicate[object]] { param($s) $s.Seen -eq $genB })
        @($samples[$firstB..($samples.Count - 1)] | Where-Object Seen -eq $genA) | Should -BeNullOrEmpty

        $results = @($out | Where-Object { $_ -is [BulkData.Engine.Import.ImportResult] })
        $results.Count | Should -Be 8
        $results | Where-Object Status -ne 'Imported' | Should -BeNullOrEmpty
        $gen = @($out | Where-Object { $_ -is [BulkData.Engine.Import.BulkGeneration] })
        $gen.Count | Should -Be 1
        $gen[0].State | Should -Be 'Swapped'
        $gen[0].PreviousSchema | Should -BeNullOrEmpty
        $gen[0].StagingBytes | Should -Be $bytes
        $gen[0].Tables.Count | Should -Be 8
        $warned -join "`n" | Should -Match 'rows written to .* while the new generation loads are not in it'
        ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n" | Should -Match 'function public\.docket_count\(\) \(sql\) names a swapped table'

        # The live tables equal the new dump, with the same indexes, keys and triggers as before.
        foreach ($t in $script:Tables) { (Export-Table $Db $t) | Should -BeExactly (Export-Table $B.Source $t) -Because $t }
        Compare-Object $shapeBefore (Get-TestRows $Db $script:ShapeSql) | Out-String -Width 400 | Should -BeNullOrEmpty
        [int](Invoke-Sql $Db "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bulkdata\_%'") | Should -Be 0 -Because 'the staging schema is empty and dropped, the previous tables dropped'
        [long](Invoke-Sql $Db "SELECT 'public.search_docket'::regclass::oid") | Should -Not -Be $oldDocket
        Invoke-Sql $Db "SELECT has_table_privilege('$Role', 'public.search_docket', 'SELECT')" | Should -BeTrue
        Invoke-Sql $Db 'SELECT public.docket_count()' | Should -Be ([long]($genB -split '/')[0])

        # The foreign key from the table outside the dump points at the new generation, validated.
        Invoke-Sql $Db "SELECT confrelid = 'public.search_docket'::regclass AND convalidated FROM pg_constraint WHERE conrelid = 'public.app_bookmark'::regclass AND contype = 'f'" | Should -BeTrue
        { Invoke-Sql $Db 'INSERT INTO public.app_bookmark (docket_id) VALUES (-42)' } | Should -Throw '*violates foreign key constraint*'
        # Sequences at least as high as the new rows need.
        $seq = Invoke-Sql $Db "SELECT pg_get_serial_sequence('public.search_docket', 'id')"
        if ($seq -isnot [DBNull]) {
            Invoke-Sql $Db "SELECT nextval('$seq') > (SELECT max(id) FROM public.search_docket)" | Should -BeTrue
        }
    }

    It 'keeps the previous generation with -KeepPrevious, and Undo-BulkImport brings its rows back' {
        $genB = Get-DumpGeneration $B
        Get-Generation $Db | Should -Be $genB
        $out = @(Invoke-BulkImport -Path $A.Dir -ConnectionString $script:PgConnectionString -Database $Db -Online -KeepPrevious -WarningAction SilentlyContinue -ErrorAction Stop)
        $gen = @($out | Where-Object { $_ -is [BulkData.Engine.Import.BulkGeneration] })[0]
        $gen.State | Should -Be 'Swapped'
        $gen.PreviousSchema | Should -Match '^bulkdata_prev_\d+$'
        Get-Generation $Db | Should -Be (Get-DumpGeneration $A)
        (Export-Table $Db 'search_docket' $gen.PreviousSchema) | Should -BeExactly (Export-Table $B.Source 'search_docket')

        $whatIf = @(Undo-BulkImport -ConnectionString $script:PgConnectionString -Database $Db -WhatIf)
        $whatIf | Should -BeNullOrEmpty
        Get-Generation $Db | Should -Be (Get-DumpGeneration $A)

        $undone = Undo-BulkImport -ConnectionString $script:PgConnectionString -Database $Db -Confirm:$false
        $undone.State | Should -Be 'Undone'
        $undone.Generation | Should -Be $gen.Generation
        foreach ($t in $script:Tables) { (Export-Table $Db $t) | Should -BeExactly (Export-Table $B.Source $t) -Because $t }
        (Export-Table $Db 'search_docket' $undone.StagingSchema) | Should -BeExactly (Export-Table $A.Source 'search_docket')
        Invoke-Sql $Db "SELECT confrelid = 'public.search_docket'::regclass AND convalidated FROM pg_constraint WHERE conrelid = 'public.app_bookmark'::regclass AND contype = 'f'" | Should -BeTrue
        # The journal follows: the live tables are B's files again.
        Invoke-Sql $Db "SELECT source_file FROM bulkdata.import_journal WHERE table_name = 'public.search_docket'" | Should -Match '2026-12-31'
        { Undo-BulkImport -ConnectionString $script:PgConnectionString -Database $Db -Confirm:$false -ErrorAction Stop } | Should -Throw '*no swapped generation whose previous tables were kept*'
    }

    It 'refuses before loading anything when a materialized view is bound to a swapped table' {
        $null = Invoke-Sql $Db 'CREATE MATERIALIZED VIEW public.recent_dockets AS SELECT id FROM public.search_docket'
        try {
            $before = [int](Invoke-Sql $Db 'SELECT count(*) FROM bulkdata.generations')
            { Invoke-BulkImport -Path $A.Dir -ConnectionString $script:PgConnectionString -Database $Db -Online -WarningAction SilentlyContinue -ErrorAction Stop } |
                Should -Throw '*public.recent_dockets (materialized view): follows the table''s OID*'
            [int](Invoke-Sql $Db 'SELECT count(*) FROM bulkdata.generations') | Should -Be $before
            Get-Generation $Db | Should -Be (Get-DumpGeneration $B)
        } finally { $null = Invoke-Sql $Db 'DROP MATERIALIZED VIEW public.recent_dockets' }
    }

    It 'makes the views that select from swapped tables again on the new generation, and Undo-BulkImport on the old one' {
        $genB = Get-DumpGeneration $B
        # A view on a view on dockets, with options, a grant and a comment; the outer one names no swapped table.
        $null = Invoke-Sql $Db "CREATE VIEW public.docket_ids WITH (security_barrier = true) AS SELECT d.id, c.id AS court FROM public.search_docket d LEFT JOIN public.search_court c ON c.id = d.court_id"
        $null = Invoke-Sql $Db "CREATE VIEW public.docket_id_count AS SELECT count(*) AS n FROM public.docket_ids"
        $null = Invoke-Sql $Db "GRANT SELECT ON public.docket_ids TO $Role; COMMENT ON VIEW public.docket_ids IS 'ids'"
        try {
            $oid = [long](Invoke-Sql $Db "SELECT 'public.docket_ids'::regclass::oid")
            [long](Invoke-Sql $Db 'SELECT n FROM public.docket_id_count') | Should -Be ([long]($genB -split '/')[0])
            $out = @(Invoke-BulkImport -Path $A.Dir -ConnectionString $script:PgConnectionString -Database $Db -Online -KeepPrevious -WarningAction SilentlyContinue -ErrorAction Stop -Verbose 4>&1)
            ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n" | Should -Match 'view public\.docket_ids selects from a swapped table: its query is made again'
            $genA = Get-DumpGeneration $A
            Get-Generation $Db | Should -Be $genA
            [long](Invoke-Sql $Db 'SELECT n FROM public.docket_id_count') | Should -Be ([long]($genA -split '/')[0])
            [long](Invoke-Sql $Db 'SELECT count(*) FROM public.docket_ids') | Should -Be ([long]($genA -split '/')[0])
            # The same view: OID, options, grant, comment; bound to the new tables, not the kept previous ones.
            [long](Invoke-Sql $Db "SELECT 'public.docket_ids'::regclass::oid") | Should -Be $oid
            Invoke-Sql $Db "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = $oid" | Should -Be 'security_barrier=true'
            Invoke-Sql $Db "SELECT has_table_privilege('$Role', 'public.docket_ids', 'SELECT')" | Should -BeTrue
            Invoke-Sql $Db "SELECT obj_description($oid, 'pg_class')" | Should -Be 'ids'
            Invoke-Sql $Db "SELECT string_agg(DISTINCT refobjid::regclass::text, ',' ORDER BY refobjid::regclass::text) FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid WHERE w.ev_class = $oid AND d.refobjid <> $oid AND d.refclassid = 'pg_class'::regclass" |
                Should -Be 'search_court,search_docket'

            $undone = Undo-BulkImport -ConnectionString $script:PgConnectionString -Database $Db -Confirm:$false
            $undone.State | Should -Be 'Undone'
            Get-Generation $Db | Should -Be $genB
            [long](Invoke-Sql $Db 'SELECT n FROM public.docket_id_count') | Should -Be ([long]($genB -split '/')[0])
            $null = Invoke-Sql $Db "DROP SCHEMA $($undone.StagingSchema) CASCADE"
        } finally { $null = Invoke-Sql $Db 'DROP VIEW IF EXISTS public.docket_id_count; DROP VIEW IF EXISTS public.docket_ids' }
    }

    It '-Plan -Online reports the space the staging generation needs, read from the live tables, and creates nothing' {
        $before = [int](Invoke-Sql $Db 'SELECT count(*) FROM bulkdata.generations')
        $schemas = [int](Invoke-Sql $Db 'SELECT count(*) FROM pg_namespace')
        $bytes = [long](Invoke-Sql $Db "SELECT sum(pg_total_relation_size(('public.' || t)::regclass)) FROM unnest('{$($script:Tables -join ',')}'::text[]) t")
        $steps = @(Invoke-BulkImport -Path $A.Dir -ConnectionString $script:PgConnectionString -Database $Db -Online -Plan)
        $space = @($steps | Where-Object Step -eq 'StagingSpace')
        $space.Count | Should -Be 1
        $space[0].Bytes | Should -Be $bytes
        $space[0].Detail | Should -Match "needs about $($bytes.ToString('N0')) bytes in database $Db \(pg_total_relation_size of the 8 live table\(s\)"
        # The test server runs on this machine: the free space beside it is measured.
        $space[0].Detail | Should -Match 'bytes free at .*; it fits'
        ($steps | Where-Object Step -eq 'Load' | Select-Object -First 1).Detail | Should -Match 'staging copy'
        $steps[-1].Step | Should -Be 'Swap'
        [int](Invoke-Sql $Db 'SELECT count(*) FROM bulkdata.generations') | Should -Be $before
        [int](Invoke-Sql $Db 'SELECT count(*) FROM pg_namespace') | Should -Be $schemas

        # A database that does not exist: the rule, and why it was not measured; nothing is created.
        $none = 'onl_none_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $steps = @(Invoke-BulkImport -Path $A.Dir -ConnectionString $script:PgConnectionString -Database $none -Online -Plan)
        $space = @($steps | Where-Object Step -eq 'StagingSpace')
        $space[0].Bytes | Should -Be 0
        $space[0].Detail | Should -Match 'needs about the size of the live tables it replaces .*; not measured now: .*3D000'
        [int](Invoke-Sql 'postgres' "SELECT count(*) FROM pg_database WHERE datname = '$none'") | Should -Be 0
    }

    It 'leaves the live tables untouched after kill -9 during the staging load, and a re-run completes' {
        $C = New-OnlineDump '2027-03-31' @('--dockets', '1500', '--words', '200')
        $genB = Get-DumpGeneration $B
        $child = @"
Import-Module '$($script:ModulePath)'
Invoke-BulkImport -Path '$($C.Dir)' -ConnectionString '$($script:PgConnectionString)' -Database '$Db' -Online -ThrottleLimit 1 -WarningAction SilentlyContinue | Out-Null
"@
        $file = Join-Path $C.Dir 'child.ps1'; Set-Content $file $child
        $psi = [Diagnostics.ProcessStartInfo]::new($script:PwshCommand[0])
        foreach ($a in @($script:PwshCommand | Select-Object -Skip 1) + @('-NoProfile', '-File', $file)) { if ($a) { $psi.ArgumentList.Add($a) } }
        $p = [Diagnostics.Process]::Start($psi)
        $deadline = [DateTime]::UtcNow.AddSeconds(120)
        $staged = 0
        while ([DateTime]::UtcNow -lt $deadline -and -not $p.HasExited) {
            try { $staged = [int](Invoke-Sql $Db "SELECT count(*) FROM bulkdata.generation_tables t JOIN bulkdata.generations g USING (generation) WHERE g.state = 'Staging' AND t.side = 'new'") } catch { }
            if ($staged -ge 1) { break }
            Start-Sleep -Milliseconds 50
        }
        $p.HasExited | Should -BeFalse -Because 'the child must be killed during the staging load'
        & kill -9 $p.Id
        $p.WaitForExit()
        $staged | Should -BeLessThan 8

        # The live tables are as they were (generation B), the generation is still being staged.
        Get-Generation $Db | Should -Be $genB
        foreach ($t in $script:Tables) { (Export-Table $Db $t) | Should -BeExactly (Export-Table $B.Source $t) -Because $t }
        Invoke-Sql $Db "SELECT state FROM bulkdata.generations ORDER BY generation DESC LIMIT 1" | Should -Be 'Staging'

        $out = @(Invoke-BulkImport -Path $C.Dir -ConnectionString $script:PgConnectionString -Database $Db -Online -WarningAction SilentlyContinue -ErrorAction Stop)
        $results = @($out | Where-Object { $_ -is [BulkData.Engine.Import.ImportResult] })
        $results | Where-Object Status -ne 'Imported' | Should -BeNullOrEmpty
        @($results | Where-Object { $_.Warnings -match 'staged by an earlier run' }).Count | Should -BeGreaterOrEqual 1
        $gen = @($out | Where-Object { $_ -is [BulkData.Engine.Import.BulkGeneration] })[0]
        $gen.State | Should -Be 'Swapped'
        Get-Generation $Db | Should -Be (Get-DumpGeneration $C)
        foreach ($t in $script:Tables) { (Export-Table $Db $t) | Should -BeExactly (Export-Table $C.Source $t) -Because $t }
        # Its staging schema (emptied by the swap) and the previous tables (no -KeepPrevious) are gone.
        [int](Invoke-Sql $Db "SELECT count(*) FROM pg_namespace WHERE nspname IN ('$($gen.StagingSchema)', 'bulkdata_prev_$($gen.Generation)')") | Should -Be 0
    }

    It 'names the object, SQLSTATE and hint when the staging DDL is refused, and leaves the live tables as they were' {
        # A name clash in the next generation's staging schema: a view where the staging copy of dockets goes.
        $live = Get-Generation $Db
        $rows = Export-Table $Db 'search_docket'
        $next = [long](Invoke-Sql $Db "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM bulkdata.generations_generation_seq")
        $stage = "bulkdata_stage_$next"
        $null = Invoke-Sql $Db "CREATE SCHEMA $stage; CREATE VIEW $stage.search_docket AS SELECT 1 AS id"
        try {
            $err = $null
            try { $null = Invoke-BulkImport -Path $A.Dir -ConnectionString $script:PgConnectionString -Database $Db -Online -Force -WarningAction SilentlyContinue -ErrorAction Stop }
            catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty
            $err.Exception.Message | Should -Match "^-Online: creating the staging copy $stage\.search_docket of public\.search_docket \(generation $next; the live table is untouched\): the server refused: .*search_docket.* is not a table \(SQLSTATE 42809\)\. Use DROP VIEW"
            $err.Exception.Target | Should -Be "$stage.search_docket"
            $err.FullyQualifiedErrorId | Should -Match '^DatabaseError\.42809'
            $err.CategoryInfo.TargetName | Should -Match "database $Db"
            Get-Generation $Db | Should -Be $live
            Export-Table $Db 'search_docket' | Should -BeExactly $rows
            Invoke-Sql $Db "SELECT state FROM bulkdata.generations WHERE generation = $next" | Should -Be 'Staging'
        } finally { $null = Invoke-Sql $Db "DROP VIEW IF EXISTS $stage.search_docket" }
    }
}
