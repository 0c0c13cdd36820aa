# A declined -Confirm (issue 9, item 6): every cmdlet that changes something writes no object and changes nothing
# when the user answers "No to All". Each command runs in a child pwsh whose console host reads the answer from its
# standard input, as a person at the prompt would type it.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'DockerStandIn.ps1')
    Initialize-TestCleanup
    $script:setup = Start-CourtListenerStandIn
    $script:si = $setup.StandIn
    $script:cl = $setup.Project
    $script:Work = New-TestDirectory
    $script:Bucket = New-TestName 'confirm'
    $script:DumpDir = Join-Path $script:Work 'dump'
    $src = 'src_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $script:Created.Add($src)
    Publish-TestDump -Bucket $script:Bucket -OutDir $script:DumpDir -SourceDb $src -Extra @('--dockets', '5', '--words', '5') | Out-Null

    function Invoke-Declined([string] $Command) {
        <# Runs $Command -Confirm in a child pwsh that answers "L" (No to All); returns its prompt text and the number of objects it wrote. #>
        $file = Join-Path $script:Work ((New-TestName 'child') + '.ps1')
        Set-Content -Path $file -Value @"
Import-Module '$($script:ModulePath)'
`$out = @($Command -Confirm)
"OBJECTS=`$(`$out.Count)"
"@
        $psi = [Diagnostics.ProcessStartInfo]::new($script:PwshCommand[0])
        foreach ($a in @($script:PwshCommand | Select-Object -Skip 1) + @('-NoProfile', '-File', $file)) { if ($a) { $psi.ArgumentList.Add($a) } }
        $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
        $p = [Diagnostics.Process]::Start($psi)
        # Enough answers for every prompt the command could ask (No to All ends them at the first).
        foreach ($i in 1..20) { $p.StandardInput.WriteLine('L') }
        $p.StandardInput.Close()
        $stdout = $p.StandardOutput.ReadToEndAsync(); $stderr = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit(180000)) { $p.Kill(); throw "The child did not end: $Command" }
        $text = $stdout.Result + $stderr.Result
        if ($text -notmatch 'OBJECTS=(\d+)') { throw "The child wrote no count: $text" }
        [pscustomobject]@{ Objects = [int]$Matches[1]; Text = $text; ExitCode = $p.ExitCode }
    }
}

AfterAll {
    Stop-CourtListenerStandIn $setup
    Remove-TestCleanup
    Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue
}

Describe 'A declined -Confirm' {
    It 'Invoke-BulkImport asks, writes no object and creates no database' {
        $db = 'confirm_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $script:Created.Add($db)
        $r = Invoke-Declined "Invoke-BulkImport -Path '$($script:DumpDir)' -ConnectionString '$($script:PgConnectionString)' -Database '$db'"
        $r.Text | Should -Match 'Are you sure you want to perform this action'
        $r.Objects | Should -Be 0
        Invoke-Sql 'postgres' "SELECT count(*) FROM pg_database WHERE datname = '$db'" | Should -Be 0
    }

    It 'Start-BulkFetch asks, writes no object and leaves the destination empty' {
        $dest = Join-Path $script:Work (New-TestName 'fetch')
        $r = Invoke-Declined "Get-BulkManifest -EndpointUrl '$($script:S3Endpoint)' -Bucket '$($script:Bucket)' | Start-BulkFetch -Destination '$dest'"
        $r.Text | Should -Match 'Are you sure you want to perform this action'
        $r.Objects | Should -Be 0
        @(Get-ChildItem -Path $dest -Recurse -File -ErrorAction SilentlyContinue).Count | Should -Be 0
    }

    It 'Expand-BulkFile asks, writes no object, expands nothing and keeps the .bz2' {
        $dir = Join-Path $script:Work (New-TestName 'expand')
        New-Item -ItemType Directory -Path $dir | Out-Null
        $source = @(Get-ChildItem -Path $script:DumpDir -Filter '*.csv.bz2')[0]
        Copy-Item $source.FullName $dir
        $r = Invoke-Declined "Expand-BulkFile -Path '$(Join-Path $dir $source.Name)'"
        $r.Text | Should -Match 'Are you sure you want to perform this action'
        $r.Objects | Should -Be 0
        @(Get-ChildItem -Path $dir -File).Name | Should -Be @($source.Name)
    }

    It 'Stop-NonEssentialService asks, writes no object and stops nothing' {
        Reset-CourtListenerStandIn $setup
        $r = Invoke-Declined "Stop-NonEssentialService -ComposeFile '$($cl.ComposeFile[0])','$($cl.ComposeFile[1])' -DockerPath '$($si.Docker)'"
        $r.Text | Should -Match 'Are you sure you want to perform this action'
        $r.Objects | Should -Be 0
        @(Get-StandInCalls $si | Where-Object { $_ -contains 'stop' }).Count | Should -Be 0
        (Get-StandInStates $si).Values | Sort-Object -Unique | Should -Be 'running'
    }
}
