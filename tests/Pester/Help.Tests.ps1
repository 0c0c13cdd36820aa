# Help of every exported cmdlet: synopsis, description, every parameter described, at least two examples,
# format data for every [OutputType], and every example's code runs against the local test services
# (s3rver holding a small dump in the default bucket, the stand-in docker, a temporary folder).
# Examples that cannot run here carry Runnable = $false; Reason = '...' in their help psd1 and are skipped.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Import-Module $script:ModulePath -Force
    $script:cases = foreach ($cmd in (Get-Command -Module BulkData -CommandType Cmdlet, Function | Sort-Object Name)) {
        $src = Join-Path $script:RepoRoot "module/help/$($cmd.Name).help.psd1"
        $data = if (Test-Path $src) { Import-PowerShellDataFile $src } else { $null }
        $i = 0
        $examples = @(if ($data) { foreach ($ex in $data.Examples) { $i++; @{ Cmdlet = $cmd.Name; Index = $i; Title = $ex.Title; Code = $ex.Code; Runnable = -not ($ex.ContainsKey('Runnable') -and $ex['Runnable'] -eq $false); Reason = $(if ($ex.ContainsKey('Reason')) { $ex['Reason'] } else { 'marked not runnable' }) } } })
        @{ Name = $cmd.Name; HelpSource = $src; Examples = $examples }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'DockerStandIn.ps1')
    Import-Module $script:ModulePath -Force
    $script:work = New-TestDirectory
    $script:bulk = Join-Path $work 'srv/bulk-data'
    $script:csv = Join-Path $work 'srv/csv'
    # The examples name the default bucket: publish a small dump there.
    # Dated 2024-12-31, the date Get-BulkManifest's -AsOf example names.
    Publish-TestDump -Bucket 'com-courtlistener-storage' -OutDir (Join-Path $work 'dump') -Extra @('--date', '2024-12-31') | Out-Null
    $script:si = New-DockerStandIn (Join-Path $work 'docker')
    Enter-DockerStandIn $script:si
    $script:cl = New-CourtListenerProject $script:si
    $script:standIn = [pscustomobject]@{ StandIn = $si; Project = $cl; UpArguments = @('compose') + @($cl.ComposeFile | ForEach-Object { '-f', $_ }) + @('up', '-d') }
    # Invoke-BulkImport's examples connect as psql would: through the PG* variables, set while an example runs.
    $script:pg = Get-TestPgParts
    $script:formatTypes = @(Get-FormatData -PowerShellVersion $PSVersionTable.PSVersion | ForEach-Object TypeNames) +
        @((Get-Module BulkData).ExportedFormatFiles | ForEach-Object { ([xml](Get-Content -Raw $_)).Configuration.ViewDefinitions.View.ViewSelectedBy.TypeName })

    function Invoke-HelpExample([string] $Code) {
        # Well-known absolute paths of the examples point into this suite's temporary folder.
        $Code = $Code.Replace('/srv/bulk-data', $script:bulk).Replace('/srv/csv', $script:csv).
            Replace('~/courtlistener/docker/courtlistener', $script:cl.Directory).
            Replace('http://127.0.0.1:4568', $script:S3Endpoint).
            Replace('Host=localhost;Username=postgres', "Host=$($pg.Host);Port=$($pg.Port);Username=$($pg.Username);Password=$($pg.Password)")
        New-Item -ItemType Directory -Force -Path $script:bulk, $script:csv | Out-Null
        # Services the previous example stopped come back up.
        Reset-CourtListenerStandIn $script:standIn
        $defaults = @{
            'Get-BulkManifest:EndpointUrl'            = $script:S3Endpoint
            'Start-BulkFetch:EndpointUrl'             = $script:S3Endpoint
            'Stop-NonEssentialService:DockerPath'     = $script:si.Docker
            'Start-NonEssentialService:DockerPath'    = $script:si.Docker
        }
        $sb = [scriptblock]::Create($Code)
        Push-Location (Split-Path (Split-Path $script:cl.Directory))   # ./docker/courtlistener resolves here
        $path = $env:PATH
        $env:PGHOST = $pg.Host; $env:PGPORT = $pg.Port; $env:PGUSER = $pg.Username; $env:PGPASSWORD = $pg.Password
        $env:PATH = (Split-Path $script:si.Docker) + [IO.Path]::PathSeparator + $path   # a bare `docker` is the stand-in
        try {
            & {
                $PSDefaultParameterValues = $defaults
                $ErrorActionPreference = 'Stop'
                $ConfirmPreference = 'None'
                $PSNativeCommandUseErrorActionPreference = $true   # a failing docker call fails the example
                $ProgressPreference = 'SilentlyContinue'
                & $sb | Out-String | Out-Null
            }
        } finally {
            $env:PATH = $path; Pop-Location
            Remove-Item Env:PGHOST, Env:PGPORT, Env:PGUSER, Env:PGPASSWORD -ErrorAction SilentlyContinue
        }
    }
}

AfterAll {
    Exit-DockerStandIn   # its folder is under $work
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'Help of <Name>' -ForEach $script:cases {
    BeforeAll {
        $script:help = Get-Help $Name -Full
        $script:cmd = Get-Command $Name
    }

    It 'has a help source, a synopsis and a description' {
        $HelpSource | Should -Exist
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis.Trim() | Should -Not -Be $Name
        ($help.description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'describes every parameter' {
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        $undescribed = foreach ($p in $cmd.Parameters.Keys | Where-Object { $_ -notin $common }) {
            $ph = $help.parameters.parameter | Where-Object name -EQ $p
            if (-not $ph -or -not ($ph.description | Out-String).Trim()) { $p }
        }
        $undescribed | Should -BeNullOrEmpty
    }

    It 'has at least two examples' {
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        $Examples.Count | Should -BeGreaterOrEqual 2
    }

    It 'has format data for every output type' {
        $types = @($cmd.OutputType | ForEach-Object Name | Where-Object { $_ -like 'BulkData.*' })
        foreach ($t in $types) { $t | Should -BeIn $script:formatTypes -Because "$Name outputs $t" }
    }

    It 'example <Index> runs: <Title>' -ForEach $Examples {
        if (-not $Runnable) { Set-ItResult -Skipped -Because $Reason; return }
        if ($Code -match 'Invoke-BulkImport' -and -not (Get-Command Invoke-BulkImport -Module BulkData -ErrorAction SilentlyContinue)) {
            Set-ItResult -Skipped -Because 'Invoke-BulkImport is not in this build of the module yet'; return
        }
        { Invoke-HelpExample $Code } | Should -Not -Throw
    }
}
