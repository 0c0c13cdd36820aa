# Start-BulkFetch -Destination that cannot take files (issue 9, item 7): under a file, on a pseudo file system, on a
# read-only mount. Each is an error that says which, before any request, and nothing is written.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Work = New-TestDirectory
    $script:Mounts = [System.Collections.Generic.List[string]]::new()
    $script:Entry = [pscustomobject]@{
        Key = 'bulk-data/courts-2026-09-30.csv.bz2'; Size = 10; ETag = '0123456789abcdef0123456789abcdef'
        Bucket = (New-TestName 'dest'); Region = 'us-east-1'; EndpointUrl = $script:S3Endpoint
    }

    function Get-FetchError([string] $Destination) {
        $err = $null
        try { $script:Entry | Start-BulkFetch -Destination $Destination -ErrorAction Stop } catch { $err = $_ }
        if (-not $err) { throw "Start-BulkFetch -Destination $Destination did not fail." }
        $err
    }
}

AfterAll {
    foreach ($m in $script:Mounts) { & umount -l $m 2>$null }
    Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue
}

Describe 'Start-BulkFetch -Destination' {
    It 'under a file says which file' {
        $file = Join-Path $script:Work 'a-file'
        Set-Content $file 'keep me'
        $err = Get-FetchError (Join-Path $file 'sub/dir')
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        $err.Exception.Message | Should -Match "under '$([regex]::Escape($file))', which is a file"
        Get-Content $file | Should -Be 'keep me'
    }

    It 'that is a file says so' {
        $file = Join-Path $script:Work 'b-file'
        Set-Content $file 'keep me'
        (Get-FetchError $file).Exception.Message | Should -Match 'is a file, not a folder'
        Get-Content $file | Should -Be 'keep me'
    }

    It 'on a pseudo file system names it' -TestCases @(
        @{ Path = '/proc/bulkdata-test'; Type = 'proc' }
        @{ Path = '/sys/bulkdata-test/x'; Type = 'sysfs' }
    ) {
        $err = Get-FetchError $Path
        $err.Exception.Message | Should -Match "pseudo file system '$Type'"
        Test-Path $Path | Should -BeFalse
    }

    It 'on a read-only mount says read-only and where it is mounted' {
        $dir = Join-Path $script:Work (New-TestName 'ro')
        New-Item -ItemType Directory -Path $dir | Out-Null
        & mount -t tmpfs -o ro,size=1m tmpfs $dir
        if ($LASTEXITCODE -ne 0) { throw 'mount -t tmpfs -o ro failed (the tests run as root).' }
        $script:Mounts.Add($dir)
        $err = Get-FetchError (Join-Path $dir 'bulk')
        $err.Exception.Message | Should -Match "read-only file system \(tmpfs mounted read-only at $([regex]::Escape($dir))\)"
    }
}
