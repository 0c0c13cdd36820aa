# The whole job on a whole dump: the test kit's 33-table mode (a source made from the real schema in ../shared,
# every exported table filled, exported as the publisher does) published to s3rver, then fetched and imported
# by the pipeline into a fresh database. Every table must come back equal to its source, with every index and key.
BeforeDiscovery {
    $repo = if ($env:BULKDATA_REPO) { $env:BULKDATA_REPO } else { Join-Path $PSScriptRoot '../..' }
    $script:HaveSchema = Test-Path (Join-Path $repo '../shared/fixtures/courtlistener/schema-2024-12-31.sql')
    if (-not $script:HaveSchema) { Write-Warning "../shared/fixtures/courtlistener/schema-2024-12-31.sql is absent: the 33-table dump test is skipped." }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'dependencies/Npgsql.dll')
    $script:Created = [System.Collections.Generic.List[string]]::new()
    $script:Dirs = [System.Collections.Generic.List[string]]::new()

    # Per table of public: rows (as a count and a digest of every exported column, in key order), indexes, foreign keys.
    function Get-Shape([string] $Database, $Tables) {
        $shape = @{}
        foreach ($t in $Tables) {
            $cols = (@($t.Columns) | ForEach-Object { "`"$_`"" }) -join ', '
            $q = "SELECT count(*) AS n, coalesce(md5(string_agg(row($cols)::text, E'\n' ORDER BY id)), '') AS digest FROM public.$($t.Table)"
            $r = Invoke-Query $Database $q
            $shape[$t.Table] = "$($r.n) rows, $($r.digest)"
        }
        $shape['(indexes)'] = (Invoke-Query $Database "SELECT tablename, count(*) AS n FROM pg_indexes WHERE schemaname = 'public' GROUP BY 1 ORDER BY 1" | ForEach-Object { "$($_.tablename)=$($_.n)" }) -join ' '
        $shape['(foreign keys)'] = (Invoke-Query $Database "SELECT c.conrelid::regclass::text AS t, count(*) AS n FROM pg_constraint c JOIN pg_namespace s ON s.oid = c.connamespace WHERE s.nspname = 'public' AND c.contype = 'f' GROUP BY 1 ORDER BY 1" | ForEach-Object { "$($_.t)=$($_.n)" }) -join ' '
        $shape
    }
}

AfterAll {
    if (-not (Get-Variable -Name Created -Scope Script -ErrorAction SilentlyContinue)) { return }
    foreach ($db in $script:Created) {
        try {
            $c = [Npgsql.NpgsqlConnection]::new((Get-Cs 'postgres')); $c.Open()
            $cmd = $c.CreateCommand(); $cmd.CommandText = "DROP DATABASE IF EXISTS `"$db`" WITH (FORCE)"; $null = $cmd.ExecuteNonQuery(); $c.Dispose()
        } catch { }
    }
    foreach ($d in $script:Dirs) { Remove-Item -Recurse -Force $d -ErrorAction SilentlyContinue }
}

Describe 'The test kit''s 33-table dump from the real schema' -Skip:(-not $script:HaveSchema) {
    It 'publishes all 33 exported tables, and the pipeline imports every one equal to its source with every index and foreign key' {
        $out = New-TestDirectory; $script:Dirs.Add($out)
        $fetched = New-TestDirectory; $script:Dirs.Add($fetched)
        $bucket = New-TestName 'full'
        $src = 'fullsrc_' + [guid]::NewGuid().ToString('N').Substring(0, 8); $script:Created.Add($src)
        $db = 'fulldst_' + [guid]::NewGuid().ToString('N').Substring(0, 8); $script:Created.Add($db)

        $dump = Invoke-TestKit publish-full --pg $script:PgConnectionString --out $out --size-mb 2 --source-db $src --endpoint $script:S3Endpoint --bucket $bucket
        # The export: the exporter's 33 tables, one file each, named as the publisher names them; the schema and load script beside them.
        @($dump.Tables).Count | Should -Be 33
        @($dump.Files | Where-Object Kind -eq 'Data').Count | Should -Be 33
        @($dump.Files | Where-Object Kind -eq 'Schema').FileName | Should -Be 'schema-2026-10-01.sql'
        @($dump.Files | Where-Object Kind -eq 'LoadScript').FileName | Should -Be 'load-bulk-data-2026-10-01.sh'
        ($dump.Tables | Where-Object Table -eq 'citations_unmatchedcitation').FileName | Should -Be 'unmatched-citations-2026-09-30.csv.bz2'
        ($dump.Tables | Where-Object Table -eq 'people_db_person_race').FileName | Should -Be 'people-db-races-2026-09-30.csv.bz2'
        # Shaped like the real dump: opinions the largest part by far, one table empty on purpose, the others filled.
        $opinions = $dump.Tables | Where-Object Table -eq 'search_opinion'
        ($opinions.CsvBytes / $dump.CsvBytes) | Should -BeGreaterThan 0.55
        @($dump.Tables | Where-Object Rows -eq 0).Table | Should -Be @('search_opinioncluster_non_participating_judges')
        # The source: the real schema's 109 tables (plus the one it predates), its 462 indexes with keys, 100 foreign keys (5 point outside the dump).
        $dump.SchemaTables | Should -Be 110
        $dump.Indexes | Should -Be 604
        $dump.ForeignKeys | Should -Be 101
        # Header of a file: today's export quotes every value and names the exporter's columns.
        (& lbzip2 -dc $opinions.Path | Select-Object -First 1) | Should -Be (@($opinions.Columns) -join ',')

        # The main job: list the bucket, fetch, import into a fresh database.
        $results = @(Get-BulkManifest -EndpointUrl $script:S3Endpoint -Bucket $bucket -Region 'us-east-1' |
            Start-BulkFetch -Destination $fetched |
            Invoke-BulkImport -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue)
        $tables = @($results | Where-Object { $_.Table -and $_.File -like '*.csv.bz2' })
        $tables.Count | Should -Be 33
        @($tables | Where-Object Status -ne 'Imported') | Should -BeNullOrEmpty

        $expected = Get-Shape $src $dump.Tables
        $actual = Get-Shape $db $dump.Tables
        foreach ($key in $expected.Keys) { $actual[$key] | Should -Be $expected[$key] -Because $key }
        (Invoke-Query $db "SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'public'").n | Should -Be 604
        (Invoke-Query $db "SELECT count(*) AS n FROM pg_constraint c JOIN pg_namespace s ON s.oid = c.connamespace WHERE s.nspname = 'public' AND c.contype = 'f'").n | Should -Be 101
        # Every foreign key validated, none left NOT VALID.
        (Invoke-Query $db "SELECT count(*) AS n FROM pg_constraint WHERE contype = 'f' AND NOT convalidated").n | Should -Be 0
    }
}
