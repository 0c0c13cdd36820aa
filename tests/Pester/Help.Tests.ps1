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

    It 'shows SYNTAX for every parameter set, each parameter Required and Position as in that set' {
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters | Where-Object { $_ -notin 'WhatIf', 'Confirm' }
        $items = @($help.syntax.syntaxItem)
        $items.Count | Should -Be @($cmd.ParameterSets).Count
        ($help | Out-String -Width 200) | Should -Match ("(?m)^SYNTAX\s*\r?\n\s+" + [regex]::Escape($Name) + ' ')
        foreach ($set in $cmd.ParameterSets) {
            $params = @($set.Parameters | Where-Object Name -NotIn $common)
            $names = ($params.Name | Sort-Object) -join ','
            $item = $items | Where-Object { ((@($_.parameter) | ForEach-Object { $_.name }) | Sort-Object) -join ',' -eq $names }
            $item | Should -Not -BeNullOrEmpty -Because "parameter set $($set.Name) ($names) needs a syntax item"
            foreach ($p in $params) {
                $hp = @($item)[0].parameter | Where-Object name -EQ $p.Name
                $hp.required | Should -Be $p.IsMandatory.ToString().ToLowerInvariant() -Because "-$($p.Name) in set $($set.Name)"
                $hp.position | Should -Be $(if ($p.Position -lt 0) { 'named' } else { "$($p.Position)" }) -Because "-$($p.Name) in set $($set.Name)"
            }
        }
    }

    It 'gives every parameter its Required, Position, pipeline input, default, aliases, wildcards and type as the command has them' {
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters | Where-Object { $_ -notin 'WhatIf', 'Confirm' }
        $instance = if ($cmd -is [System.Management.Automation.CmdletInfo]) { [Activator]::CreateInstance($cmd.ImplementingType) }
        $paramBlock = if ($cmd -is [System.Management.Automation.FunctionInfo]) { $cmd.ScriptBlock.Ast.Body.ParamBlock.Parameters }
        foreach ($meta in $cmd.Parameters.Values | Where-Object Name -NotIn $common) {
            $because = "-$($meta.Name) of $Name"
            $hp = $help.parameters.parameter | Where-Object name -EQ $meta.Name
            $hp | Should -Not -BeNullOrEmpty -Because $because
            $sets = @($meta.ParameterSets.GetEnumerator() | Sort-Object Key)
            $req = @($sets | ForEach-Object { $_.Value.IsMandatory.ToString().ToLowerInvariant() })
            $pos = @($sets | ForEach-Object { if ($_.Value.Position -lt 0) { 'named' } else { "$($_.Value.Position)" } })
            $expectRequired = if (@($req | Sort-Object -Unique).Count -eq 1) { $req[0] } else { (0..($sets.Count - 1) | ForEach-Object { "$($req[$_]) ($($sets[$_].Key))" }) -join ', ' }
            $expectPosition = if (@($pos | Sort-Object -Unique).Count -eq 1) { $pos[0] } else { (0..($sets.Count - 1) | ForEach-Object { "$($pos[$_]) ($($sets[$_].Key))" }) -join ', ' }
            "$($hp.required)" | Should -Be $expectRequired -Because $because
            "$($hp.position)" | Should -Be $expectPosition -Because $because
            $kinds = @(if ($sets.Value.ValueFromPipeline -contains $true) { 'ByValue' }; if ($sets.Value.ValueFromPipelineByPropertyName -contains $true) { 'ByPropertyName' })
            "$($hp.pipelineInput)" | Should -Be $(if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }) -Because $because
            "$($hp.aliases)" | Should -Be $(if ($meta.Aliases.Count) { $meta.Aliases -join ', ' } else { 'none' }) -Because $because
            $wild = @($meta.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count -gt 0
            "$($hp.globbing)" | Should -Be $wild.ToString().ToLowerInvariant() -Because $because
            $hp.type.name | Should -Be $meta.ParameterType.FullName -Because $because
            # The default: what a new instance of the cmdlet holds, or the function's param block default.
            # (WhatIf and Confirm are the engine's, not the command's: a switch that is off.)
            $prop = if ($instance) { $cmd.ImplementingType.GetProperties() | Where-Object { $_.Name -eq $meta.Name -and $_.IsDefined([System.Management.Automation.ParameterAttribute], $true) } | Select-Object -First 1 }
            $ast = if ($paramBlock) { $paramBlock | Where-Object { $_.Name.VariablePath.UserPath -eq $meta.Name } }
            $value = if ($prop) { $prop.GetValue($instance) }
                elseif ($ast -and $ast.DefaultValue) { $ast.DefaultValue.SafeGetValue() }
                elseif ($meta.SwitchParameter) { $false }
                else { $null }
            $expectDefault = if ($null -eq $value -or "$value" -eq '') { 'None' }
                elseif ($value -is [System.Management.Automation.SwitchParameter] -or $value -is [bool]) { ([bool]$value).ToString() }
                elseif ($value -is [array]) { if ($value.Count) { ($value | ForEach-Object { [Convert]::ToString($_, [cultureinfo]::InvariantCulture) }) -join ', ' } else { 'None' } }
                else { [Convert]::ToString($value, [cultureinfo]::InvariantCulture) }
            "$($hp.defaultValue)".Trim() | Should -Be $expectDefault -Because $because
        }
    }

    It 'links to its online page at the project''s address (the page and anchor exist) and to related commands and topics' {
        $projectUri = (Get-Module BulkData).PrivateData.PSData.ProjectUri.ToString().TrimEnd('/')
        $links = @($help.relatedLinks.navigationLink)
        $links.Count | Should -BeGreaterOrEqual 3
        $links[0].linkText | Should -Be 'Online Version:'
        $links[0].uri | Should -BeLike "$projectUri/blob/main/*#*"
        $page, $anchor = $links[0].uri.Substring("$projectUri/blob/main/".Length) -split '#', 2
        $file = Join-Path $RepoRoot $page
        $file | Should -Exist
        # GitHub's anchor of a heading: lower case, spaces to '-', punctuation other than '-' and '_' dropped.
        $slugs = @(Get-Content $file | Where-Object { $_ -match '^#+\s' } | ForEach-Object { (($_ -replace '^#+\s+', '').ToLowerInvariant() -replace '[^\w\- ]', '') -replace ' ', '-' })
        $slugs | Should -Contain $anchor
        foreach ($l in $links | Select-Object -Skip 1) {
            { Get-Help $l.linkText -ErrorAction Stop | Out-Null } | Should -Not -Throw -Because "$Name links to $($l.linkText)"
            if ($l.linkText -notlike 'about_*') { (Get-Command $l.linkText).Module.Name | Should -Be 'BulkData' }
        }
        @($links.linkText) | Should -Contain 'about_BulkData'
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

Describe 'about_BulkData' {
    It 'covers the pipeline, the runbook, the dialects, resume and troubleshooting, and names every command' {
        $text = Get-Help about_BulkData | Out-String
        foreach ($section in 'THE PIPELINE', 'THE RUNBOOK', 'THE DIALECTS', 'RESUME', 'TROUBLESHOOTING', 'SEE ALSO') { $text | Should -Match "(?m)^$section" }
        foreach ($c in Get-Command -Module BulkData) { $text | Should -Match ([regex]::Escape($c.Name)) }
        $text | Should -Match "ESCAPE '\\'"
    }

    It 'Start-BulkFetch -Destination: mandatory at position 0 (it showed Required blank and Position Named)' {
        $p = Get-Help Start-BulkFetch -Parameter Destination
        $p.required | Should -Be 'true'
        $p.position | Should -Be '0'
        (Get-Help Start-BulkFetch | Out-String -Width 300) | Should -Match 'Start-BulkFetch \[-Destination\] <String> -InputObject <ManifestEntry\[\]>'
    }
}
