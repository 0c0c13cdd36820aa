# The test kit's publisher makes dumps shaped like the real ones: each era's dialect and load script, stubs,
# column drift and orphans. These tests check the bytes it publishes, and what Invoke-BulkImport does today with them.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'dependencies/Npgsql.dll')
    Initialize-TestCleanup

    function New-KitDump([string[]] $Extra = @()) {
        $dir = New-TestDirectory; $script:Dirs.Add($dir)
        $src = 'src_' + [guid]::NewGuid().ToString('N').Substring(0, 8); $script:Created.Add($src)
        $dump = Publish-TestDump -Bucket (New-TestName 'kit') -OutDir $dir -SourceDb $src -Extra (@('--dockets', '12') + $Extra)
        [pscustomobject]@{ Dir = $dir; Dump = $dump; Source = $src }
    }

    function New-DbName { $n = 'kit_' + [guid]::NewGuid().ToString('N').Substring(0, 10); $script:Created.Add($n); $n }

    function Read-Bz2Text([string] $Path) { (& lbzip2 -dc $Path) -join "`n" }
}

AfterAll {
    Remove-TestCleanup
}

Describe 'The test kit publishes dumps as the publisher does' {
    It 'writes the exporter''s multi-line load script by default, valid bash, whose columns are the export''s' {
        $d = New-KitDump
        $d.Dump.LoadScript | Should -Be 'Exporter'
        $script = ($d.Dump.Files | Where-Object Kind -eq 'LoadScript').Path
        $text = [IO.File]::ReadAllText($script)
        $text | Should -Match ([regex]::Escape("psql --command `"\COPY public.search_docket (`n`t       id, "))
        $text | Should -Match ([regex]::Escape("WITH (FORMAT csv, ENCODING utf8, ESCAPE '\', HEADER)`" --host"))
        & bash -n $script; $LASTEXITCODE | Should -Be 0
        $entries = [BulkData.Engine.Import.Sql.LoadScript]::Load($script)
        $entries.Count | Should -Be 8
        foreach ($f in $d.Dump.Files | Where-Object Kind -eq 'Data') {
            $e = $entries | Where-Object Table -eq $f.Table
            @($e.Columns) | Should -Be @($f.Columns) -Because $f.Table
            $header = (& lbzip2 -dc $f.Path | Select-Object -First 1)
            $header | Should -Be (@($f.Columns) -join ',') -Because "the header of $($f.FileName) names the export's columns in its order"
            # Today's export quotes every non-NULL value.
            (& lbzip2 -dc $f.Path | Select-Object -Skip 1 -First 1) | Should -Match '^"'
        }
        # Files named as the exporter names them.
        ($d.Dump.Files | Where-Object Table -eq 'search_opinioncluster_panel').FileName | Should -Be 'search_opinioncluster_panel-2026-09-30.csv.bz2'
    }

    It 'writes a stub for a failed export, and Invoke-BulkImport refuses it without touching its table' {
        $good = New-KitDump
        $db = New-DbName
        $null = Invoke-BulkImport -Path $good.Dir -ConnectionString $script:PgConnectionString -Database $db -WarningAction SilentlyContinue
        $before = [long](Invoke-Sql $db 'SELECT count(*) FROM public.search_opinion')
        $before | Should -BeGreaterThan 0
        $stubbed = New-KitDump -Extra @('--stub', 'opinions')
        $stub = $stubbed.Dump.Files | Where-Object Table -eq 'search_opinion'
        $stub.Stub | Should -BeTrue
        $stub.Rows | Should -Be 0
        [Convert]::ToHexString([IO.File]::ReadAllBytes($stub.Path)) | Should -Be '425A683917724538509000000000'
        $results = @(Invoke-BulkImport -Path $stubbed.Dir -ConnectionString $script:PgConnectionString -Database $db -Force -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $r = $results | Where-Object Table -eq 'public.search_opinion'
        $r.Status | Should -Be 'Failed'
        $r.Error | Should -Match ([regex]::Escape($stub.Path))
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.search_opinion') | Should -Be $before
    }

    It 'writes column drift: a column the table lacks, a column the export leaves out' {
        $d = New-KitDump -Extra @('--extra-column', 'search_docket.docket_number_raw', '--drop-column', 'search_opinion.sha1')
        $dockets = $d.Dump.Files | Where-Object Table -eq 'search_docket'
        $opinions = $d.Dump.Files | Where-Object Table -eq 'search_opinion'
        @($dockets.Columns) | Should -Contain 'docket_number_raw'
        @($opinions.Columns) | Should -Not -Contain 'sha1'
        (& lbzip2 -dc $dockets.Path | Select-Object -First 1) -split ',' | Should -Contain 'docket_number_raw'
        (& lbzip2 -dc $opinions.Path | Select-Object -First 1) -split ',' | Should -Not -Contain 'sha1'
        # The dump's schema has the new column (a newer dump); the kit's subset schema, an older database, does not.
        $schema = [IO.File]::ReadAllText(($d.Dump.Files | Where-Object Kind -eq 'Schema').Path)
        $schema | Should -Match 'docket_number_raw text'
        Get-Content -Raw (Join-Path $script:RepoRoot 'tests/BulkData.TestKit/Fixture/courtlistener-subset.sql') | Should -Not -Match 'docket_number_raw'
        $schema | Should -Match 'sha1 character varying\(40\) NOT NULL'
        # The column order of an export is not its table's.
        $tableOrder = @((Invoke-Sql $d.Source "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.search_docket'::regclass AND attnum > 0 AND NOT attisdropped") -split ',')
        @($dockets.Columns) | Should -Not -Be $tableOrder
        @($dockets.Columns | Sort-Object) | Should -Be @($tableOrder | Sort-Object)
    }

    It 'writes orphans: rows whose foreign key names a parent the dump does not have' {
        $d = New-KitDump -Extra @('--orphans', 'search_opinion.cluster_id=2')
        $o = @($d.Dump.Orphans)
        $o.Count | Should -Be 1
        $o[0].Table | Should -Be 'search_opinion'
        $o[0].References | Should -Be 'search_opinioncluster'
        @($o[0].Keys).Count | Should -Be 2
        $clusters = Read-Bz2Text ($d.Dump.Files | Where-Object Table -eq 'search_opinioncluster').Path
        $opinions = Read-Bz2Text ($d.Dump.Files | Where-Object Table -eq 'search_opinion').Path
        foreach ($k in $o[0].Keys) {
            $clusters | Should -Not -Match "(?m)^`"$k`","
            $opinions | Should -Match ([regex]::Escape("`"$k`""))
        }
        [int](Invoke-Sql $d.Source 'SELECT count(*) FROM public.search_opinion o WHERE NOT EXISTS (SELECT 1 FROM public.search_opinioncluster c WHERE c.id = o.cluster_id)') | Should -Be 2
    }

    It 'writes a <Dialect> dump whose load script states <States>' -ForEach @(
        @{ Dialect = 'ForceQuote'; States = 'FORMAT csv, ENCODING utf8, HEADER'; Copy = 'COPY'; Quoted = $true }
        @{ Dialect = 'Backtick'; States = "FORMAT csv, ENCODING utf8, QUOTE '``', HEADER"; Copy = '\COPY'; Quoted = $true }
        @{ Dialect = 'Plain'; States = 'FORMAT csv, ENCODING utf8, HEADER'; Copy = 'COPY'; Quoted = $false }
    ) {
        $d = New-KitDump -Extra @('--dialect', $Dialect, '--load-script', 'Template')
        $script = ($d.Dump.Files | Where-Object Kind -eq 'LoadScript').Path
        [IO.File]::ReadAllText($script) | Should -Match ([regex]::Escape("psql --command \`n`"$Copy public.search_court ("))
        $entries = [BulkData.Engine.Import.Sql.LoadScript]::Load($script)
        $entries.Count | Should -Be 8
        $entries.Options | Sort-Object -Unique | Should -Be $States
        $court = ($d.Dump.Files | Where-Object Table -eq 'search_court').Path
        $line = & lbzip2 -dc $court | Select-Object -Skip 1 -First 1
        $q = if ($Dialect -eq 'Backtick') { '`' } else { '"' }
        $line.StartsWith($q) | Should -Be $Quoted
    }

    It 'writes a binary dump (2022-07-31) with no load script, which Invoke-BulkImport does not load' {
        $d = New-KitDump -Extra @('--dialect', 'Binary')
        $d.Dump.Files | Where-Object Kind -eq 'LoadScript' | Should -BeNullOrEmpty
        $court = ($d.Dump.Files | Where-Object Table -eq 'search_court').Path
        $head = [byte[]]((& bash -c "lbzip2 -dc '$court' | head -c 11 | od -An -tx1") -split '\s+' | Where-Object { $_ } | ForEach-Object { [Convert]::ToByte($_, 16) })
        [Convert]::ToHexString($head) | Should -Be '5047434F50590AFF0D0A00'   # PGCOPY\n\377\r\n\0
        $db = New-DbName
        $results = @(Invoke-BulkImport -Path $d.Dir -ConnectionString $script:PgConnectionString -Database $db -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        @($results | Where-Object { $_.Table -ne '(schema)' -and $_.Status -eq 'Imported' }) | Should -BeNullOrEmpty
        [long](Invoke-Sql $db 'SELECT count(*) FROM public.search_court') | Should -Be 0
    }
}
