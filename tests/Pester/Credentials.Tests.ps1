# S3 credentials as AWS users keep them (issue 9, item 8), against the real s3rver (its keys: S3RVER/S3RVER; it
# refuses an unknown access key id but does not check SigV4 signatures, so the wrong-key cases use a wrong key id)
# through the test kit's logging proxy: -ProfileName (the shared credentials file), the AWS_* environment variables
# with session tokens, -Credential, anonymous; and no key, secret or token in any output.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Work = New-TestDirectory
    $script:Bucket = New-TestName 'cred'
    $source = Join-Path $script:Work 'courts-2026-09-30.csv.bz2'
    $bytes = [byte[]]::new(4096); [Random]::new(7).NextBytes($bytes); [IO.File]::WriteAllBytes($source, $bytes)
    $script:Source = $source
    Invoke-TestKit put --endpoint $script:S3Endpoint --bucket $script:Bucket --key 'bulk-data/courts-2026-09-30.csv.bz2' --file $source --part-size 0 | Out-Null
    $script:Token = 'tok-' + [guid]::NewGuid().ToString('N')
    $script:WrongSecret = 'wrong-' + [guid]::NewGuid().ToString('N')
    $script:CredFile = Join-Path $script:Work 'credentials'
    @"
[bulk]
aws_access_key_id = S3RVER
aws_secret_access_key = S3RVER
aws_session_token = $script:Token

[wrong]
aws_access_key_id = NOTAKEYID
aws_secret_access_key = $script:WrongSecret
"@ | Set-Content -Path $script:CredFile

    $script:AwsVariables = 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE'
    $script:Saved = @{}
    foreach ($v in $script:AwsVariables) { $script:Saved[$v] = [Environment]::GetEnvironmentVariable($v); [Environment]::SetEnvironmentVariable($v, $null) }

    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    $script:ProxyLog = Join-Path $script:Work 'proxy.log'
    New-Item -ItemType File -Path $script:ProxyLog | Out-Null
    foreach ($a in @($script:TestKit, 'proxy', '--upstream', $script:S3Endpoint, '--reset-after', '0', '--resets', '-1', '--drop-first', '0', '--rate', '0', '--log', $script:ProxyLog)) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.UseShellExecute = $false
    $script:Proxy = [System.Diagnostics.Process]::Start($psi)
    $script:Endpoint = "http://127.0.0.1:$([int]$script:Proxy.StandardOutput.ReadLine())"

    function Invoke-Fetch([hashtable] $With = @{}) {
        # Lists and fetches through the proxy; returns every stream as text and the files.
        $dest = Join-Path $script:Work (New-TestName 'dest')
        Clear-Content $script:ProxyLog
        $all = @(Get-BulkManifest -EndpointUrl $script:Endpoint -Bucket $script:Bucket -Region us-east-1 @With -Verbose |
                Start-BulkFetch -Destination $dest @With -Verbose *>&1)
        [pscustomobject]@{
            Files = @($all | Where-Object { $_ -is [BulkData.Engine.DumpFiles.BulkFile] })
            Text  = ($all | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { $_ | Out-String -Width 500; $_.Exception.ToString() } else { $_ | Out-String -Width 500 } }) -join "`n"
            Log   = @(Get-Content $script:ProxyLog)
            Dest  = $dest
        }
    }

    function Get-Failure([scriptblock] $Run) {
        $err = $null
        try { & $Run } catch { $err = $_ }
        if (-not $err) { throw 'The command did not fail.' }
        $err
    }
}

AfterAll {
    foreach ($v in $script:AwsVariables) { [Environment]::SetEnvironmentVariable($v, $script:Saved[$v]) }
    if ($script:Proxy -and -not $script:Proxy.HasExited) { $script:Proxy.StandardInput.Close(); if (-not $script:Proxy.WaitForExit(5000)) { $script:Proxy.Kill() } }
    Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue
}

Describe 'S3 credentials' {
    AfterEach {
        foreach ($v in $script:AwsVariables) { [Environment]::SetEnvironmentVariable($v, $null) }
    }

    It 'reads -ProfileName from the shared credentials file, with its session token, and shows no secret' {
        $env:AWS_SHARED_CREDENTIALS_FILE = $script:CredFile
        $r = Invoke-Fetch @{ ProfileName = 'bulk' }
        $r.Files.State | Should -Be 'Downloaded'
        (Get-FileHash (Join-Path $r.Dest 'courts-2026-09-30.csv.bz2')).Hash | Should -Be (Get-FileHash $script:Source).Hash
        $get = @($r.Log | Where-Object { $_ -match "^GET /$script:Bucket/bulk-data/courts" })
        $get.Count | Should -Be 1
        $get[0] | Should -Match 'X-Amz-Signature='
        $get[0] | Should -Match 'X-Amz-Credential=S3RVER%2F' -Because 'the profile''s access key signs the request'
        $get[0] | Should -Match "X-Amz-Security-Token=$script:Token" -Because 'the session token goes with the presigned request'
        $r.Text | Should -Match "S3 credentials: the profile 'bulk' of '$([regex]::Escape($script:CredFile))' with its session token"
        $r.Text | Should -Not -Match 'S3RVER'
        $r.Text | Should -Not -Match $script:Token
    }

    It 'uses the profile''s keys: a profile with a wrong key is refused, and its secret is not shown' {
        $env:AWS_SHARED_CREDENTIALS_FILE = $script:CredFile
        $err = Get-Failure { Get-BulkManifest -EndpointUrl $script:Endpoint -Bucket $script:Bucket -Region us-east-1 -ProfileName wrong -ErrorAction Stop }
        $err.FullyQualifiedErrorId | Should -BeLike 'AccessDenied*'
        ($err | Out-String -Width 500) + $err.Exception.ToString() | Should -Not -Match $script:WrongSecret
    }

    It 'reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN' {
        $env:AWS_ACCESS_KEY_ID = 'S3RVER'; $env:AWS_SECRET_ACCESS_KEY = 'S3RVER'; $env:AWS_SESSION_TOKEN = $script:Token
        $r = Invoke-Fetch
        $r.Files.State | Should -Be 'Downloaded'
        @($r.Log | Where-Object { $_ -match "^GET /$script:Bucket/bulk-data/courts" })[0] | Should -Match "X-Amz-Security-Token=$script:Token"
        $r.Text | Should -Match 'S3 credentials: the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY with AWS_SESSION_TOKEN'
        $r.Text | Should -Not -Match 'S3RVER'
        $r.Text | Should -Not -Match $script:Token

        $env:AWS_ACCESS_KEY_ID = 'NOTAKEYID'; $env:AWS_SECRET_ACCESS_KEY = $script:WrongSecret; $env:AWS_SESSION_TOKEN = $null
        $err = Get-Failure { Get-BulkManifest -EndpointUrl $script:Endpoint -Bucket $script:Bucket -Region us-east-1 -ErrorAction Stop }
        $err.FullyQualifiedErrorId | Should -BeLike 'AccessDenied*'
        ($err | Out-String -Width 500) + $err.Exception.ToString() | Should -Not -Match $script:WrongSecret
    }

    It 'reads the profile AWS_PROFILE names' {
        $env:AWS_SHARED_CREDENTIALS_FILE = $script:CredFile; $env:AWS_PROFILE = 'bulk'
        $r = Invoke-Fetch
        $r.Files.State | Should -Be 'Downloaded'
        $r.Text | Should -Match "S3 credentials: the profile 'bulk'"
    }

    It '-Credential wins over the environment; without any, requests are anonymous' {
        $env:AWS_ACCESS_KEY_ID = 'NOTAKEYID'; $env:AWS_SECRET_ACCESS_KEY = $script:WrongSecret
        $cred = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))
        $r = Invoke-Fetch @{ Credential = $cred }
        $r.Files.State | Should -Be 'Downloaded'
        $r.Text | Should -Match 'S3 credentials: the access key given with -Credential'

        $env:AWS_ACCESS_KEY_ID = $null; $env:AWS_SECRET_ACCESS_KEY = $null
        $r = Invoke-Fetch
        $r.Files.State | Should -Be 'Downloaded'
        $r.Text | Should -Match 'S3 credentials: no credentials \(anonymous requests\)'
        @($r.Log | Where-Object { $_ -match "^GET /$script:Bucket/bulk-data/courts" })[0] | Should -Not -Match 'X-Amz-Signature'
    }

    It 'a profile that is not in the file is an error naming profile and file' {
        $env:AWS_SHARED_CREDENTIALS_FILE = $script:CredFile
        $err = Get-Failure { Get-BulkManifest -EndpointUrl $script:Endpoint -Bucket $script:Bucket -ProfileName nosuch -ErrorAction Stop }
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        $err.Exception.Message | Should -Match "profile 'nosuch'.*$([regex]::Escape($script:CredFile))"
    }

    It 'AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY is an error; -Credential with -ProfileName too' {
        $env:AWS_ACCESS_KEY_ID = 'S3RVER'
        (Get-Failure { Get-BulkManifest -EndpointUrl $script:Endpoint -Bucket $script:Bucket -ErrorAction Stop }).Exception.Message | Should -Match 'AWS_SECRET_ACCESS_KEY is not'
        $env:AWS_ACCESS_KEY_ID = $null
        $cred = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))
        (Get-Failure { Get-BulkManifest -EndpointUrl $script:Endpoint -Bucket $script:Bucket -Credential $cred -ProfileName bulk -ErrorAction Stop }).Exception.Message | Should -Match 'not both'
    }
}
