# Every cmdlet of the module ships with help (synopsis, description, every parameter, examples) and format
# data for its output types. Examples are parsed, and every parameter they pass to a BulkData cmdlet must be
# one that cmdlet has, so an example cannot drift from the code.
BeforeDiscovery {
    $modulePath = if ($env:BULKDATA_MODULE) { $env:BULKDATA_MODULE } else { Join-Path $PSScriptRoot '../../out/BulkData/BulkData.psd1' }
    Import-Module $modulePath -Force
    $Cmdlets = @((Get-Command -Module BulkData -CommandType Cmdlet).Name | Sort-Object)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

    function Resolve-ParameterName([System.Management.Automation.CommandInfo] $Command, [string] $Name) {
        # As PowerShell binds: a full name, an alias, or an unambiguous prefix.
        $all = @($Command.Parameters.Values | ForEach-Object { @($_.Name) + @($_.Aliases) })
        if ($all -contains $Name) { return $Name }
        $prefixed = @($Command.Parameters.Values | Where-Object { $_.Name -like "$Name*" })
        if ($prefixed.Count -eq 1) { return $prefixed[0].Name }
        $null
    }
}

Describe 'Help and format data of <_>' -ForEach $Cmdlets {
    BeforeAll {
        $script:Name = $_
        $script:Command = Get-Command $Name
        $script:Help = Get-Help $Name -Full
    }

    It 'has a synopsis and a description' {
        $Help.Synopsis | Should -Not -BeNullOrEmpty
        # Without help, PowerShell makes the synopsis from the syntax, which starts with the cmdlet's name.
        $Help.Synopsis.Trim().StartsWith($Name) | Should -BeFalse -Because 'the synopsis must be written, not generated'
        ($Help.Description.Text -join ' ') | Should -Not -BeNullOrEmpty
    }

    It 'describes every parameter' {
        foreach ($p in $Command.Parameters.Keys | Where-Object { $_ -notin $Common }) {
            ($Help.parameters.parameter | Where-Object name -eq $p).description.Text | Should -Not -BeNullOrEmpty -Because "-$p of $Name needs a description"
        }
    }

    It 'has examples that parse and pass only parameters the cmdlets have' {
        $examples = @($Help.Examples.Example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($e in $examples) {
            $errors = $null
            $ast = [System.Management.Automation.Language.Parser]::ParseInput($e.Code, [ref]$null, [ref]$errors)
            $errors | Should -BeNullOrEmpty -Because "example '$($e.Code)' must be valid PowerShell"
            $calls = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true)
            foreach ($call in $calls) {
                $target = Get-Command $call.GetCommandName() -Module BulkData -ErrorAction SilentlyContinue
                if (-not $target) { continue }
                foreach ($p in $call.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] }) {
                    Resolve-ParameterName $target $p.ParameterName | Should -Not -BeNullOrEmpty -Because "$($target.Name) has no parameter -$($p.ParameterName) (example: $($e.Code))"
                }
            }
            @($calls | Where-Object { Get-Command $_.GetCommandName() -Module BulkData -ErrorAction SilentlyContinue }).Count | Should -BeGreaterThan 0 -Because "example '$($e.Code)' should show a BulkData cmdlet"
        }
    }

    It 'has a format view for every BulkData output type' {
        $types = @($Command.OutputType.Type | Where-Object { $_ -and $_.FullName -like 'BulkData.*' })
        $types.Count | Should -BeGreaterThan 0
        foreach ($t in $types) {
            Get-FormatData -TypeName $t.FullName | Should -Not -BeNullOrEmpty -Because "$($t.FullName) needs a view in the module's format data"
        }
    }
}
