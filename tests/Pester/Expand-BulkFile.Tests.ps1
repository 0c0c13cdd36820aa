BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')

    function New-OpinionsText {
        <# Opinions-like CSV text (numbers, quoted prose), a few hundred kB, different for each seed. #>
        param([int] $Rows, [int] $Seed)
        $random = [Random]::new($Seed)
        $words = 'the court of appeals held that plaintiff defendant judgment affirmed reversed statute section motion to dismiss evidence jury verdict counsel opinion whether because under federal state amendment rights contract damages negligence liability remand §'.Split(' ')
        $sb = [Text.StringBuilder]::new()
        for ($r = 1; $r -le $Rows; $r++) {
            $n = $random.Next(20, 200)
            [void] $sb.Append("$r,`"")
            for ($w = 0; $w -lt $n; $w++) { [void] $sb.Append($words[$random.Next($words.Count)]).Append(' ') }
            [void] $sb.Append("`"`"Quoted`"`" $($random.Next(1, 999)) U.S. $($random.Next(1, 999))`",$($random.Next(1900, 2025))-01-0$($random.Next(1, 9))`n")
        }
        $sb.ToString()
    }

    function New-Bz2File {
        <# Writes <Folder>/<Name> (.bz2) made by a real tool from text; returns the expected expanded bytes' SHA-256. #>
        param([string] $Folder, [string] $Name, [int] $Rows = 600, [int] $Seed = 1, [string] $Tool = 'lbzip2', [string[]] $ToolArgs = @('-9'))
        $plain = Join-Path $Folder ($Name -replace '\.bz2$', '.source')
        [IO.File]::WriteAllText($plain, (New-OpinionsText -Rows $Rows -Seed $Seed))
        $hash = (Get-FileHash $plain -Algorithm SHA256).Hash
        # Redirection through PowerShell would re-encode the bytes: let the shell write the file.
        & sh -c "$Tool $($ToolArgs -join ' ') -c '$plain' > '$(Join-Path $Folder $Name)'"
        if ($LASTEXITCODE -ne 0) { throw "$Tool failed" }
        Remove-Item $plain
        $hash
    }
}

Describe 'Expand-BulkFile' {
    BeforeEach {
        $script:dir = New-TestDirectory
    }

    AfterEach {
        Remove-Item -Recurse -Force $script:dir -ErrorAction SilentlyContinue
    }

    It 'expands a .bz2 file next to it, verifies it and deletes the source' {
        $hash = New-Bz2File -Folder $dir -Name 'opinions-2024-12-31.csv.bz2' -Rows 3000
        $result = Expand-BulkFile -Path (Join-Path $dir 'opinions-2024-12-31.csv.bz2')

        $result | Should -HaveCount 1
        $result | Should -BeOfType ([BulkData.Engine.DumpFiles.BulkFile])
        $result.State | Should -Be 'Extracted'
        $result.Verification | Should -Be 'Bzip2Crc'
        $result.Dataset | Should -Be 'opinions'
        $result.Path | Should -Be (Join-Path $dir 'opinions-2024-12-31.csv')
        $result.Size | Should -Be (Get-Item $result.Path).Length
        (Get-FileHash $result.Path -Algorithm SHA256).Hash | Should -Be $hash
        Join-Path $dir 'opinions-2024-12-31.csv.bz2' | Should -Not -Exist
        Get-ChildItem $dir -Filter '*.bulkdata-expanding' | Should -BeNullOrEmpty
    }

    It 'takes paths from the pipeline, writes into -Destination, keeps the sources, largest first' {
        $hashes = @{
            'small-2024-12-31.csv'  = New-Bz2File -Folder $dir -Name 'small-2024-12-31.csv.bz2' -Rows 100 -Seed 2 -Tool bzip2 -ToolArgs @('-1')
            'large-2024-12-31.csv'  = New-Bz2File -Folder $dir -Name 'large-2024-12-31.csv.bz2' -Rows 4000 -Seed 3 -Tool lbzip2 -ToolArgs @('-1')
            'medium-2024-12-31.csv' = New-Bz2File -Folder $dir -Name 'medium-2024-12-31.csv.bz2' -Rows 900 -Seed 4 -Tool pbzip2 -ToolArgs @('-1', '-p2')
        }
        $out = Join-Path $dir 'expanded'

        $results = Get-ChildItem $dir -Filter '*.bz2' | Sort-Object Name | Expand-BulkFile -Destination $out -KeepCompressed

        $results.Dataset | Should -Be @('large', 'medium', 'small')
        foreach ($r in $results) {
            $r.State | Should -Be 'Extracted'
            Split-Path $r.Path | Should -Be $out
            (Get-FileHash $r.Path -Algorithm SHA256).Hash | Should -Be $hashes[(Split-Path $r.Path -Leaf)]
        }
        Get-ChildItem $dir -Filter '*.bz2' | Should -HaveCount 3
    }

    It 'skips an existing expanded file unless -Force' {
        $hash = New-Bz2File -Folder $dir -Name 'people-db-people-2024-12-31.csv.bz2' -Rows 300
        $final = Join-Path $dir 'people-db-people-2024-12-31.csv'
        Set-Content -Path $final -Value 'an older expansion' -NoNewline
        $source = Join-Path $dir 'people-db-people-2024-12-31.csv.bz2'

        $skipped = Expand-BulkFile -Path $source
        $skipped.State | Should -Be 'Skipped'
        $skipped.Verification | Should -Be 'AlreadyPresent'
        Get-Content $final -Raw | Should -Be 'an older expansion'
        $source | Should -Exist

        $forced = Expand-BulkFile -Path $source -Force
        $forced.State | Should -Be 'Extracted'
        (Get-FileHash $final -Algorithm SHA256).Hash | Should -Be $hash
        $source | Should -Not -Exist
    }

    It 'changes nothing with -WhatIf' {
        New-Bz2File -Folder $dir -Name 'courts-2024-12-31.csv.bz2' -Rows 50 | Out-Null
        $results = Expand-BulkFile -Path (Join-Path $dir '*.bz2') -WhatIf
        $results | Should -BeNullOrEmpty
        Join-Path $dir 'courts-2024-12-31.csv' | Should -Not -Exist
        Join-Path $dir 'courts-2024-12-31.csv.bz2' | Should -Exist
    }

    It 'reports a corrupt file with its block position, keeps its source, leaves no final file, and goes on with the others' {
        $goodHash = New-Bz2File -Folder $dir -Name 'dockets-2024-12-31.csv.bz2' -Rows 800 -Seed 7
        New-Bz2File -Folder $dir -Name 'opinions-2024-12-31.csv.bz2' -Rows 3000 -Seed 8 -ToolArgs @('-1') | Out-Null
        $bad = Join-Path $dir 'opinions-2024-12-31.csv.bz2'
        $bytes = [IO.File]::ReadAllBytes($bad)
        $bytes[[int]($bytes.Length / 2)] = $bytes[[int]($bytes.Length / 2)] -bxor 0x08
        [IO.File]::WriteAllBytes($bad, $bytes)
        $badHash = (Get-FileHash $bad -Algorithm SHA256).Hash

        $results = Expand-BulkFile -Path $bad, (Join-Path $dir 'dockets-2024-12-31.csv.bz2') -ErrorVariable errs -ErrorAction SilentlyContinue

        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'InvalidData*'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $errs[0].Exception.Message | Should -BeLike "*$bad*"
        $errs[0].Exception.Message | Should -Match 'block \d+ at compressed byte \d+ \(bit [0-7]\)'
        ($results | Where-Object State -EQ 'Failed').Path | Should -Be $bad
        ($results | Where-Object State -EQ 'Extracted').Dataset | Should -Be 'dockets'
        (Get-FileHash (Join-Path $dir 'dockets-2024-12-31.csv') -Algorithm SHA256).Hash | Should -Be $goodHash
        Join-Path $dir 'opinions-2024-12-31.csv' | Should -Not -Exist
        Get-ChildItem $dir -Filter '*.bulkdata-expanding' | Should -BeNullOrEmpty
        (Get-FileHash $bad -Algorithm SHA256).Hash | Should -Be $badHash
    }

    It 'writes a file''s error as soon as that file fails, before the files expanded after it' {
        New-Bz2File -Folder $dir -Name 'opinions-2024-12-31.csv.bz2' -Rows 3000 -Seed 8 -ToolArgs @('-1') | Out-Null
        New-Bz2File -Folder $dir -Name 'dockets-2024-12-31.csv.bz2' -Rows 800 -Seed 7 | Out-Null
        $bad = Join-Path $dir 'opinions-2024-12-31.csv.bz2'
        $good = Join-Path $dir 'dockets-2024-12-31.csv.bz2'
        (Get-Item $bad).Length | Should -BeGreaterThan (Get-Item $good).Length   # largest first: the bad one runs first
        $bytes = [IO.File]::ReadAllBytes($bad)
        $bytes[[int]($bytes.Length / 2)] = $bytes[[int]($bytes.Length / 2)] -bxor 0x08
        [IO.File]::WriteAllBytes($bad, $bytes)

        $stream = @(Expand-BulkFile -Path $bad, $good -ThrottleLimit 1 -ErrorAction Continue 2>&1)

        $kinds = @($stream | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { "error:$($_.TargetObject)" } else { "$($_.State):$($_.Dataset)" } })
        $kinds | Should -Be @("error:$bad", 'Failed:opinions', 'Extracted:dockets')
    }

    It 'stops the work when the pipeline stops taking output (Select-Object -First 1): nothing runs on afterwards' {
        foreach ($n in 1..3) { New-Bz2File -Folder $dir -Name "part$n-2024-12-31.csv.bz2" -Rows (4000 - 1000 * $n) -Seed $n | Out-Null }
        $sources = @(Get-ChildItem $dir -Filter '*.csv.bz2' | ForEach-Object FullName)

        $first = @(Expand-BulkFile -Path $sources -ThrottleLimit 1 -KeepCompressed | Select-Object -First 1)

        $first.Count | Should -Be 1
        $first[0].Dataset | Should -Be 'part1'   # largest first
        Start-Sleep -Milliseconds 1500           # had the work gone on in the background, more files would appear now
        @(Get-ChildItem $dir -Filter '*.csv').Name | Should -Be @('part1-2024-12-31.csv')
        Get-ChildItem $dir -Filter '*.bulkdata-expanding' | Should -BeNullOrEmpty
        @(Get-ChildItem $dir -Filter '*.csv.bz2').Count | Should -Be 3
    }

    It 'reports a truncated file and a file that is not bzip2' {
        New-Bz2File -Folder $dir -Name 'citations-2024-12-31.csv.bz2' -Rows 2000 -ToolArgs @('-1') | Out-Null
        $cut = Join-Path $dir 'citations-2024-12-31.csv.bz2'
        $bytes = [IO.File]::ReadAllBytes($cut)
        [IO.File]::WriteAllBytes($cut, $bytes[0..([int]($bytes.Length * 0.6))])
        $plain = Join-Path $dir 'plain-2024-12-31.csv.bz2'
        Set-Content -Path $plain -Value 'id,name'

        $results = Expand-BulkFile -Path $cut, $plain -ErrorVariable errs -ErrorAction SilentlyContinue

        $results.State | Should -Be @('Failed', 'Failed')
        $errs | Should -HaveCount 2
        ($errs.Exception.Message | Where-Object { $_ -like "*$cut*" }) | Should -Match 'compressed byte \d+'
        ($errs.Exception.Message | Where-Object { $_ -like "*$plain*" }) | Should -Match 'not a bzip2 stream'
        $cut | Should -Exist
        $plain | Should -Exist
        Get-ChildItem $dir -Filter '*.csv' | Should -BeNullOrEmpty
    }

    It 'takes BulkFile objects: expands the .bz2 ones keeping their origin, passes the others on' {
        $hash = New-Bz2File -Folder $dir -Name 'search-2024-12-31.csv.bz2' -Rows 200
        $schema = Join-Path $dir 'schema-2025-01-01.sql'
        Set-Content -Path $schema -Value 'CREATE TABLE t (id int);'
        $files = @(
            [BulkData.Engine.DumpFiles.BulkFile]@{ Path = $schema; Dataset = 'schema'; State = 'Downloaded'; Kind = 'Schema'; Key = 'bulk-data/schema-2025-01-01.sql' }
            [BulkData.Engine.DumpFiles.BulkFile]@{ Path = (Join-Path $dir 'search-2024-12-31.csv.bz2'); Dataset = 'search'; State = 'Downloaded'; Kind = 'Data'; Key = 'bulk-data/search-2024-12-31.csv.bz2'; ETag = 'abc-2' }
        )

        $results = $files | Expand-BulkFile

        $results | Should -HaveCount 2
        $passed = $results | Where-Object Dataset -EQ 'schema'
        $passed.State | Should -Be 'Downloaded'
        $passed.Path | Should -Be $schema
        $expanded = $results | Where-Object Dataset -EQ 'search'
        $expanded.State | Should -Be 'Extracted'
        $expanded.Key | Should -Be 'bulk-data/search-2024-12-31.csv.bz2'
        $expanded.ETag | Should -Be 'abc-2'
        (Get-FileHash $expanded.Path -Algorithm SHA256).Hash | Should -Be $hash
    }

    It 'binds any object with a Path property' {
        $hash = New-Bz2File -Folder $dir -Name 'courts-2024-12-31.csv.bz2' -Rows 100
        $result = [pscustomobject]@{ Path = (Join-Path $dir 'courts-2024-12-31.csv.bz2') } | Expand-BulkFile -KeepCompressed
        $result.State | Should -Be 'Extracted'
        (Get-FileHash $result.Path -Algorithm SHA256).Hash | Should -Be $hash
    }

    It 'refuses a path that is not a .bz2 file or does not exist' {
        $csv = Join-Path $dir 'x.csv'
        Set-Content -Path $csv -Value 'a'
        Expand-BulkFile -Path $csv, (Join-Path $dir 'missing.csv.bz2') -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $errs | Should -HaveCount 2
        $errs[0].Exception.Message | Should -BeLike "*x.csv*not a .bz2 file*"
        $errs[1].FullyQualifiedErrorId | Should -BeLike 'ObjectNotFound*'
    }
}
