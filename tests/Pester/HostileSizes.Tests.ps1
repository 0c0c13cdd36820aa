# Sizes that disagree with the bytes served (issue 15, item 6), against the real s3rver: an entry whose listed size
# is smaller or larger than the object's body ends in a clear error naming the object, with nothing under the
# final name (and a re-run with the true size completes).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Work = New-TestDirectory
    $script:Bucket = New-TestName 'sizes'
    $script:Source = Join-Path $script:Work 'source.bin'
    $bytes = [byte[]]::new(300000); [Random]::new(15).NextBytes($bytes); [IO.File]::WriteAllBytes($script:Source, $bytes)
    $script:ETag = "$(Invoke-TestKit put --endpoint $script:S3Endpoint --bucket $script:Bucket --key 'bulk-data/courts-2026-09-30.csv.bz2' --file $script:Source --part-size 0)".Trim()

    function New-SizedEntry([long] $Size) {
        [BulkData.Engine.Manifest.ManifestEntry]@{
            Dataset = 'courts'; DumpDate = [datetime]'2026-09-30'; FileDate = [datetime]'2026-09-30'; Key = 'bulk-data/courts-2026-09-30.csv.bz2'
            FileName = 'courts-2026-09-30.csv.bz2'; Size = $Size; ETag = $script:ETag; LastModified = [datetime]'2026-10-01'
            Kind = 'Data'; Bucket = $script:Bucket; Region = 'us-east-1'; EndpointUrl = $script:S3Endpoint
        }
    }
}

AfterAll {
    if (Get-Variable -Name Work -Scope Script -ErrorAction SilentlyContinue) { Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue }
}

Describe 'Start-BulkFetch when the body disagrees with the listed size' {
    It 'a body <How> than listed (<Listed> listed, 300,000 served) fails naming the object, nothing under the final name' -ForEach @(
        @{ How = 'longer'; Listed = 200000; Says = 'the server sent 300,000 bytes where 200,000 were expected (listed size 200,000)' }
        @{ How = 'shorter'; Listed = 400000; Says = 'the server sent 300,000 bytes where 400,000 were expected (listed size 400,000)' }
    ) {
        $dest = Join-Path $script:Work "dest-$How"
        $files = @(New-SizedEntry $Listed | Start-BulkFetch -Destination $dest -RetryCount 1 -ErrorVariable errs -ErrorAction SilentlyContinue)
        @($errs).Count | Should -BeGreaterThan 0
        $message = "$($errs[0].Exception.Message)"
        $message | Should -Match 'courts-2026-09-30\.csv\.bz2'
        $message | Should -Match ([regex]::Escape($Says))
        @($files | Where-Object State -ne 'Failed') | Should -BeNullOrEmpty
        Test-Path (Join-Path $dest 'courts-2026-09-30.csv.bz2') | Should -BeFalse -Because 'nothing is written under the final name'
        # The true size fetches the same bytes.
        $ok = New-SizedEntry 300000 | Start-BulkFetch -Destination $dest
        $ok.State | Should -Be 'Downloaded'
        [Convert]::ToHexString([IO.File]::ReadAllBytes((Join-Path $dest 'courts-2026-09-30.csv.bz2'))) | Should -Be ([Convert]::ToHexString([IO.File]::ReadAllBytes($script:Source)))
    }
}
