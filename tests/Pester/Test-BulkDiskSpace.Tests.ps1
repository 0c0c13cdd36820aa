BeforeDiscovery {
    # Mounting a tmpfs needs root; CI and sessions run as root.
    $CanMount = $IsLinux -and (& id -u) -eq '0'
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')

    function Get-DfAvailable([string] $Path) {
        # df's own figure, in bytes, for the file system holding $Path.
        [long]((& df -B1 --output=avail $Path | Select-Object -Last 1).Trim())
    }

    $script:Tmp = New-TestDirectory
    $script:Mount = Join-Path $Tmp 'small'
    New-Item -ItemType Directory -Path $Mount | Out-Null
    & mount -t tmpfs -o size=8m tmpfs $Mount 2>$null
    $script:HaveTmpfs = $LASTEXITCODE -eq 0
    if ($IsLinux -and (& id -u) -eq '0' -and -not $HaveTmpfs) { throw "mount -t tmpfs failed on $Mount" }

    # A small published dump to measure against.
    $script:Bucket = New-TestName 'space'
    $null = Publish-TestDump -Bucket $Bucket -OutDir (Join-Path $Tmp 'published')
    $script:Entries = @(Get-BulkManifest -EndpointUrl $S3Endpoint -Bucket $Bucket)
}

AfterAll {
    if ($HaveTmpfs) { & umount $Mount }
    Remove-Item -Recurse -Force $Tmp -ErrorAction SilentlyContinue
}

Describe 'Test-BulkDiskSpace' {
    It 'agrees with df on a small tmpfs' -Skip:(-not $CanMount) {
        $report = Test-BulkDiskSpace -Path $Mount -RequiredBytes 0
        $report.AvailableBytes | Should -Be (Get-DfAvailable $Mount)
        $report.AvailableBytes | Should -Be 8MB

        [IO.File]::WriteAllBytes((Join-Path $Mount 'filler'), [byte[]]::new(3MB))
        try {
            (Test-BulkDiskSpace -Path $Mount -RequiredBytes 0).AvailableBytes | Should -Be (Get-DfAvailable $Mount)
            (Test-BulkDiskSpace -Path $Mount -RequiredBytes 0).AvailableBytes | Should -Be 5MB
        } finally {
            Remove-Item (Join-Path $Mount 'filler')
        }
    }

    It 'reports a shortfall' -Skip:(-not $CanMount) {
        $report = Test-BulkDiskSpace -Path $Mount -RequiredBytes 10MB -ReserveBytes 1MB
        $report.IsSufficient | Should -BeFalse
        $report.RequiredBytes | Should -Be 10MB
        $report.ReserveBytes | Should -Be 1MB
        $report.ShortfallBytes | Should -Be (11MB - (Get-DfAvailable $Mount))
        Test-BulkDiskSpace -Path $Mount -RequiredBytes 10MB -Quiet | Should -BeFalse
        Test-BulkDiskSpace -Path $Mount -RequiredBytes 1MB -Quiet | Should -BeTrue
    }

    It 'measures a path that does not exist yet at its nearest existing parent' -Skip:(-not $CanMount) {
        $report = Test-BulkDiskSpace -Path (Join-Path $Mount 'srv/bulk-data') -RequiredBytes 1
        $report.MeasuredPath | Should -Be $Mount
        $report.AvailableBytes | Should -Be (Get-DfAvailable $Mount)
        Test-Path (Join-Path $Mount 'srv') | Should -BeFalse
    }

    It 'adds up manifest entries from the pipeline' {
        $report = $Entries | Test-BulkDiskSpace -Path (Join-Path $Tmp 'dest')
        $report.FileCount | Should -Be $Entries.Count
        $report.RequiredBytes | Should -Be ($Entries | Measure-Object Size -Sum).Sum
        $report.IsSufficient | Should -BeTrue
    }

    It 'does not count files already complete at the path' {
        $dest = Join-Path $Tmp 'partly'
        New-Item -ItemType Directory $dest | Out-Null
        $done = $Entries | Where-Object Kind -eq 'Data' | Select-Object -First 2
        foreach ($e in $done) { [IO.File]::WriteAllBytes((Join-Path $dest $e.FileName), [byte[]]::new($e.Size)) }
        $wrong = $Entries | Where-Object Kind -eq 'Data' | Select-Object -Skip 2 -First 1
        [IO.File]::WriteAllBytes((Join-Path $dest $wrong.FileName), [byte[]]::new(1))

        $report = $Entries | Test-BulkDiskSpace -Path $dest
        $report.FilesPresent | Should -Be 2
        $report.RequiredBytes | Should -Be (($Entries | Measure-Object Size -Sum).Sum - ($done | Measure-Object Size -Sum).Sum)
    }

    It 'adds the expanded size of .bz2 files with -Extract' {
        $compressed = ($Entries | Where-Object FileName -like '*.bz2' | Measure-Object Size -Sum).Sum
        $plain = ($Entries | Where-Object FileName -notlike '*.bz2' | Measure-Object Size -Sum).Sum
        $report = $Entries | Test-BulkDiskSpace -Path (Join-Path $Tmp 'dest') -Extract -ExpansionRatio 4
        $report.RequiredBytes | Should -Be ($plain + $compressed + ($Entries | Where-Object FileName -like '*.bz2' | ForEach-Object { [math]::Ceiling($_.Size * 4) } | Measure-Object -Sum).Sum)
        ($Entries | Test-BulkDiskSpace -Path (Join-Path $Tmp 'dest') -Extract).RequiredBytes | Should -BeGreaterThan ($compressed * 5)
    }

    It 'formats the report for people' {
        $text = Test-BulkDiskSpace -Path $Tmp -RequiredBytes 1GB | Out-String
        $text | Should -Match 'Required\s*:\s*1\.0 GiB \(1,073,741,824 bytes\)'
        $text | Should -Match 'IsSufficient\s*:\s*(True|False)'
    }

    It 'has help with examples' {
        @((Get-Help Test-BulkDiskSpace).Examples.Example).Count | Should -BeGreaterOrEqual 3
    }
}
