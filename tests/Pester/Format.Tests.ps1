# The table views at 80 and 120 columns, with the real data's longest names: every column of the view is there
# and every value is whole (a long value wraps within its column; nothing is cut to "…"). -Verify findings
# start a table of their own when they follow ImportResults in one stream.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Bytes = { param($n) [BulkData.Engine.ByteSize]::Format($n) }

    function Read-Table([string] $Text, [string] $TypeName) {
        # The table of Out-String text: its headers, and per row the whole text of each column (the fragments of
        # a wrapped cell joined). Column positions come from the view's widths (one space between columns, the
        # last takes the rest of the line); a row starts where the first column has text.
        $control = (Get-FormatData -TypeName $TypeName).FormatViewDefinition | Where-Object { $_.Control -is [System.Management.Automation.TableControl] } | Select-Object -First 1 -ExpandProperty Control
        $starts = [System.Collections.Generic.List[int]]::new(); $at = 0
        foreach ($h in $control.Headers) { $starts.Add($at); $at += $h.Width + 1 }
        $lines = @($Text -split "`r?`n" | Where-Object { $_.Trim() })
        $cell = {
            param([string] $line, [int] $i)
            $start = $starts[$i]
            if ($line.Length -le $start) { return '' }
            $end = if ($i -eq $starts.Count - 1) { $line.Length } else { [Math]::Min($line.Length, $starts[$i + 1]) }
            $line.Substring($start, $end - $start).Trim()
        }
        $headers = @(0..($starts.Count - 1) | ForEach-Object { & $cell $lines[0] $_ })
        $lines[1] | Should -Match '^[- ]+$' -Because 'the header is underlined'
        $rows = [System.Collections.Generic.List[object]]::new()
        foreach ($line in $lines | Select-Object -Skip 2) {
            $cells = @(0..($starts.Count - 1) | ForEach-Object { & $cell $line $_ })
            if ($cells[0] -or $rows.Count -eq 0) { $rows.Add([string[]]$cells) }
            else { $last = $rows[$rows.Count - 1]; for ($i = 0; $i -lt $cells.Count; $i++) { $last[$i] += $cells[$i] } }
        }
        [pscustomobject]@{ Headers = $headers; Rows = $rows.ToArray(); MaxLine = ($lines | Measure-Object Length -Maximum).Maximum }
    }

    function Assert-View($Objects, [string[]] $Headers, [scriptblock] $Expected) {
        foreach ($width in 80, 120) {
            $text = $Objects | Out-String -Width $width
            $text | Should -Not -Match '…' -Because "nothing is cut at $width columns"
            $t = Read-Table $text @($Objects)[0].GetType().FullName
            $t.MaxLine | Should -BeLessOrEqual $width
            $t.Headers | Should -Be $Headers -Because "every column stays at $width"
            $t.Rows.Count | Should -Be @($Objects).Count
            for ($r = 0; $r -lt @($Objects).Count; $r++) {
                $want = @(& $Expected @($Objects)[$r])
                for ($c = 0; $c -lt $want.Count; $c++) {
                    # A wrapped cell loses the spaces where it broke: compare without spaces.
                    ($t.Rows[$r][$c] -replace '\s', '') | Should -Be ("$($want[$c])" -replace '\s', '') -Because "$($Headers[$c]) of row $r at $width columns"
                }
            }
        }
    }

    $script:LongDatasets = 'search-opinioncluster-non-participating-judges', 'financial-disclosures-non-investment-income', 'opinions'
}

Describe 'Table views at 80 and 120 columns' {
    It 'ManifestEntry: DumpDate, Kind, Size and the whole Dataset' {
        $entries = foreach ($d in $LongDatasets + 'load-bulk-data') {
            $kind = if ($d -eq 'load-bulk-data') { 'LoadScript' } else { 'Data' }
            [BulkData.Engine.Manifest.ManifestEntry]@{ Dataset = $d; DumpDate = [datetime]'2026-09-30'; FileDate = [datetime]'2026-09-30'; Key = "bulk-data/$d-2026-09-30.csv.bz2"
                FileName = "$d-2026-09-30.csv.bz2"; Size = 55252643429; ETag = '"d41d8c-25"'; LastModified = [datetime]'2026-10-01'; Kind = $kind; Bucket = 'com-courtlistener-storage'; Region = 'us-west-2' }
        }
        Assert-View $entries @('DumpDate', 'Kind', 'Size', 'Dataset') { param($e) '2026-09-30', "$($e.Kind)", (& $Bytes $e.Size), $e.Dataset }
    }

    It 'BulkFile: State, Size, Duration, Verification and the whole file name' {
        $files = foreach ($d in $LongDatasets) {
            [BulkData.Engine.DumpFiles.BulkFile]@{ Path = "/srv/bulk-data/$d-2026-09-30.csv.bz2"; Dataset = $d; Size = 691880446; State = 'Downloaded'; Verification = 'SizeAndChecksum'; Duration = [timespan]'01:02:03' }
        }
        Assert-View $files @('State', 'Size', 'Duration', 'Verification', 'File') { param($f) 'Downloaded', (& $Bytes $f.Size), '01:02:03', 'SizeAndChecksum', "$($f.Dataset)-2026-09-30.csv.bz2" }
    }

    It 'ImportResult: Status, Table, Rows, Duration, Warnings and File all stay' {
        $results = foreach ($d in $LongDatasets) {
            [BulkData.Engine.Import.ImportResult]@{ Table = "public.$($d -replace '-', '_')"; File = "/srv/bulk-data/$d-2026-09-30.csv.bz2"; Rows = 71700000; Bytes = 1; Duration = [timespan]'10:00:00'; Status = 'Imported'; Warnings = [string[]]@('a', 'b') }
        }
        Assert-View $results @('Status', 'Table', 'Rows', 'Duration', 'Warnings', 'File') { param($x) 'Imported', $x.Table, '71,700,000', '10:00:00', '2', ([IO.Path]::GetFileName($x.File)) }
    }

    It 'ImportPlanStep: Order, Step, Table, Dialect and the file or the detail' {
        $steps = @(
            [BulkData.Engine.Import.ImportPlanStep]@{ Order = 1; Database = 'courtlistener'; Step = 'CreateDatabase'; Detail = 'create database courtlistener when it does not exist' }
            [BulkData.Engine.Import.ImportPlanStep]@{ Order = 2; Database = 'courtlistener'; Step = 'Load'; Table = 'public.search_opinioncluster_non_participating_judges'; File = '/srv/bulk-data/search-opinioncluster-non-participating-judges-2026-09-30.csv.bz2'; Dialect = "escape (FORMAT csv, ESCAPE '\')" }
        )
        Assert-View $steps @('Order', 'Step', 'Table', 'Dialect', 'File / Detail') {
            param($s) "$($s.Order)", $s.Step, "$($s.Table)", $(if ($s.Dialect) { $s.Dialect.Split(' ')[0] } else { '' }), $(if ($s.Step -eq 'Load') { [IO.Path]::GetFileName($s.File) } else { $s.Detail })
        }
    }

    It 'ServiceState: Service, both states, Project and Containers' {
        $states = foreach ($s in 'cl-webhook-sentry', 'cl-tailwind-reload') {
            [BulkData.Engine.Services.ServiceState]@{ Project = 'courtlistener'; Service = $s; StateBefore = 'running'; StateAfter = 'exited'; Containers = [string[]]@("courtlistener-$s-1", "courtlistener-$s-2") }
        }
        Assert-View $states @('Service', 'StateBefore', 'StateAfter', 'Project', 'Containers') { param($x) $x.Service, 'running', 'exited', 'courtlistener', ($x.Containers -join ', ') }
    }

    It '-Verify findings: a table view of their own (Passed, Check, Count, Table, Constraint), not ImportResult''s' {
        $verification = [BulkData.Engine.Import.ImportVerification]@{ Table = 'public.search_opinion_joined_by'; Check = 'Duplicates'; Constraint = 'search_opinion_joined_by_opinion_id_person_id_uniq'; Columns = 'opinion_id, person_id'; Count = 12345 }
        $orphans = [BulkData.Engine.Import.ImportVerification]@{ Table = 'public.search_opinion'; Check = 'Orphans'; Constraint = 'search_opinion_cluster_id_fk'; Columns = 'cluster_id'; References = 'public.search_opinioncluster (id)'; Count = 3 }
        Assert-View @($verification, $orphans) @('Passed', 'Check', 'Count', 'Table', 'Constraint') {
            param($v) 'False', $v.Check, ('{0:N0}' -f $v.Count), $v.Table, $(if ($v.References) { '{0} ({1}) -> {2}' -f $v.Constraint, $v.Columns, $v.References } else { '{0} ({1})' -f $v.Constraint, $v.Columns })
        }
    }

    It 'ForeignKeyOrphans: Validated, Orphans, Removed, Table and the whole key with its sample keys' {
        $fks = @(
            [BulkData.Engine.Import.ForeignKeyOrphans]@{ Table = 'public.search_opinioncluster_non_participating_judges'; Constraint = 'search_opinioncluster_non_participating_judges_person_id_fk'; Columns = 'person_id'; References = 'public.people_db_person (id)'; Count = 1234567; SampleKeys = [string[]]@('101', '102', '103'); Validated = $false }
            [BulkData.Engine.Import.ForeignKeyOrphans]@{ Table = 'public.search_opinion'; Constraint = 'search_opinion_cluster_id_fk'; Columns = 'cluster_id'; References = 'public.search_opinioncluster (id)'; Count = 2; SampleKeys = [string[]]@('7', '9'); Removed = 2; Validated = $true }
        )
        Assert-View $fks @('Validated', 'Orphans', 'Removed', 'Table', 'Foreign key / Sample keys') {
            param($o) "$($o.Validated)", ('{0:N0}' -f $o.Count), ('{0:N0}' -f $o.Removed), $o.Table, ('{0} ({1}) -> {2}; e.g. {3}' -f $o.Constraint, $o.Columns, $o.References, ($o.SampleKeys -join ', '))
        }
    }
}

Describe 'The list view of an ImportResult' {
    It 'shows the dialect with its reason, the orphans of each foreign key and the excluded columns, whole at 80 columns' {
        $orphans = [BulkData.Engine.Import.ForeignKeyOrphans]@{ Table = 'public.search_opinion'; Constraint = 'search_opinion_cluster_id_fk'; Columns = 'cluster_id'; References = 'public.search_opinioncluster (id)'; Count = 3; SampleKeys = [string[]]@('7') }
        $schema = [BulkData.Engine.Import.ImportResult]@{ Table = '(schema)'; File = '/srv/bulk-data/schema-2026-09-30.sql'; Status = 'Imported'; Database = 'courtlistener'; Orphans = [BulkData.Engine.Import.ForeignKeyOrphans[]]@($orphans) }
        $table = [BulkData.Engine.Import.ImportResult]@{ Table = 'public.search_docket'; File = '/srv/bulk-data/dockets-2026-09-30.csv.bz2'; Status = 'Imported'; Rows = 71700000; Bytes = 5GB; Duration = [timespan]'01:02:03'
            Dialect = 'Rfc4180'; DialectReason = 'sniffed (reloaded: Escape misread the bytes)'; ExcludedColumns = [string[]]@('docket_number_raw'); DroppedValues = 71700000
            ReceivedBytes = 5GB; DecodedBytes = 27GB }
        $text = $schema, $table | Format-List | Out-String -Width 80
        $text | Should -Not -Match '…'
        ($text -split "`r?`n" | Measure-Object Length -Maximum).Maximum | Should -BeLessOrEqual 80
        # A wrapped value breaks where it can (a space, a parenthesis): compare without white space.
        $flat = $text -replace '\s', ''
        $flat | Should -Match ([regex]::Escape('Dialect:Rfc4180(sniffed(reloaded:Escapemisreadthebytes))'))
        $flat | Should -Match ([regex]::Escape('Orphans:public.search_opinion(search_opinion_cluster_id_fk):3orphan(s),NOTVALID'))
        $flat | Should -Match ([regex]::Escape('ExcludedColumns:docket_number_raw(71,700,000valuesdropped)'))
        $flat | Should -Match ([regex]::Escape('Rows:71,700,000'))
        # Both sides of a streamed table: received from the bucket, and the CSV it decoded to.
        $flat | Should -Match ([regex]::Escape('Received:5.0GiBfromthebucket'))
        $flat | Should -Match ([regex]::Escape('Decoded:27.0GiBofCSVloaded'))
        ($schema | Format-List | Out-String -Width 80) | Should -Match 'Received\s*:\s*\r?\n' -Because 'a local file or a script received nothing: the line stays empty'
        # The default view stays the table.
        ($table | Out-String -Width 80) | Should -Match '^\s*Status\s+Table\s+Rows'
    }
}
