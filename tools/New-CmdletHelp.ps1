<#
.SYNOPSIS
Writes the module's help into <Destination> (en-US): MAML (BulkData.Cmdlets.dll-Help.xml) from
module/help/*.help.psd1 and the compiled commands, and the about_*.help.txt topics.

.DESCRIPTION
Each command's help lives in one data file, module/help/<Name>.help.psd1: Synopsis, Description,
Parameters (name = text), Examples (Title, Code, Remarks), Inputs, Outputs, Notes, Links (command or
about_ topic names) and Online (a page of the repository with its anchor, e.g. 'README.md#start-bulkfetch').

Everything else comes from the module itself, imported from -ModulePath, so it cannot drift from the code:
  - SYNTAX: one syntax item per parameter set, each parameter with its Required and Position in that set;
  - per parameter: type, Required, Position, pipeline input (ByValue / ByPropertyName), aliases,
    wildcard support ([SupportsWildcards]) and the default value: for a cmdlet the value its property
    has on a new instance (so a default in the code is the default in the help), for a function the
    default of its param block. A value of $null is 'None', an array is joined with ', ', anything
    else is its invariant string;
  - the online URI: ProjectUri of the manifest (the one place of the project's address) + /blob/main/ + Online.
A parameter with different Required or Position values in different sets shows each, as "true (SetA), false (SetB)".
An example may also carry Runnable = $false and Reason = '...': the help suite (tests/Pester/Help.Tests.ps1)
then skips running it, with that reason; they are not written to MAML.

Run it in a PowerShell of its own (tools/New-ModuleLayout.ps1 does): it imports the module.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $HelpSource,
    # The built module's manifest (out/BulkData/BulkData.psd1).
    [Parameter(Mandatory)] [string] $ModulePath,
    # The culture folder to write into (out/BulkData/en-US).
    [Parameter(Mandatory)] [string] $Destination
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$module = Import-Module $ModulePath -PassThru -Force
$projectUri = $module.PrivateData.PSData.ProjectUri
if (-not $projectUri) { throw "$ModulePath has no PrivateData.PSData.ProjectUri." }
$common = [System.Management.Automation.Cmdlet]::CommonParameters + @('PipelineVariable', 'OutVariable', 'OutBuffer', 'InformationVariable', 'WarningVariable', 'ErrorVariable')

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

function Get-DocumentedParameters([System.Management.Automation.CommandInfo] $Command) {
    # Every parameter but the common ones (WhatIf and Confirm are documented: they change what a command does).
    @($Command.Parameters.Values | Where-Object { $_.Name -notin $common })
}

function Format-DefaultValue($value) {
    if ($null -eq $value -or ($value -is [string] -and $value -eq '')) { return 'None' }
    if ($value -is [System.Management.Automation.SwitchParameter]) { return ([bool]$value).ToString() }
    if ($value -is [System.Collections.IEnumerable] -and $value -isnot [string]) {
        $items = @($value | ForEach-Object { [System.Convert]::ToString($_, [cultureinfo]::InvariantCulture) })
        if ($items.Count -eq 0) { return 'None' }
        return $items -join ', '
    }
    [System.Convert]::ToString($value, [cultureinfo]::InvariantCulture)
}

function Get-DefaultValues([System.Management.Automation.CommandInfo] $Command) {
    $defaults = @{}
    if ($Command -is [System.Management.Automation.CmdletInfo]) {
        $instance = [Activator]::CreateInstance($Command.ImplementingType)
        foreach ($p in Get-DocumentedParameters $Command) {
            # The parameter's own property (Invoke-BulkImport's Host hides PSCmdlet.Host).
            $prop = $Command.ImplementingType.GetProperties() | Where-Object { $_.Name -eq $p.Name -and $_.IsDefined([System.Management.Automation.ParameterAttribute], $true) } | Select-Object -First 1
            $defaults[$p.Name] = if ($prop) { Format-DefaultValue $prop.GetValue($instance) } elseif ($p.SwitchParameter) { 'False' } else { 'None' }
        }
    } else {
        foreach ($p in Get-DocumentedParameters $Command) { $defaults[$p.Name] = if ($p.SwitchParameter) { 'False' } else { 'None' } }
        foreach ($p in $Command.ScriptBlock.Ast.Body.ParamBlock.Parameters) {
            $name = $p.Name.VariablePath.UserPath
            if ($p.DefaultValue) {
                $v = $p.DefaultValue.SafeGetValue()
                $defaults[$name] = Format-DefaultValue $v
            } elseif ($p.StaticType -eq [switch]) {
                $defaults[$name] = 'False'
            }
        }
    }
    $defaults
}

function Get-SetValue([System.Management.Automation.ParameterMetadata] $Parameter, [scriptblock] $Of) {
    # One value when every set agrees, else "value (Set), value (Set)".
    $pairs = @(foreach ($set in ($Parameter.ParameterSets.Keys | Sort-Object)) { [pscustomobject]@{ Set = $set; Value = & $Of $Parameter.ParameterSets[$set] } })
    $distinct = @($pairs.Value | Sort-Object -Unique)
    if ($distinct.Count -le 1) { return "$($distinct[0])" }
    ($pairs | ForEach-Object { "$($_.Value) ($($_.Set))" }) -join ', '
}

function Get-PositionText($setData) { if ($setData.Position -lt 0) { 'named' } else { "$($setData.Position)" } }

function Get-PipelineText([System.Management.Automation.ParameterMetadata] $Parameter) {
    $byValue = @($Parameter.ParameterSets.Values | Where-Object ValueFromPipeline).Count -gt 0
    $byName = @($Parameter.ParameterSets.Values | Where-Object ValueFromPipelineByPropertyName).Count -gt 0
    $kinds = @(if ($byValue) { 'ByValue' }; if ($byName) { 'ByPropertyName' })
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

function Get-TypeName([type] $Type) {
    if ($Type -eq [System.Management.Automation.SwitchParameter]) { return 'SwitchParameter' }
    $Type.Name
}

function Write-Paras([string] $text) {
    foreach ($para in ($text -split "`r?`n`r?`n")) {
        $w.WriteElementString('maml', 'para', $ns.maml, ($para -replace '\s*\r?\n\s*', ' ').Trim())
    }
}

New-Item -ItemType Directory -Force -Path $Destination | Out-Null
$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$w = [System.Xml.XmlWriter]::Create((Join-Path $Destination 'BulkData.Cmdlets.dll-Help.xml'), $settings)

$w.WriteStartDocument()
$w.WriteStartElement('helpItems')
$w.WriteAttributeString('schema', 'maml')
$w.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
$w.WriteAttributeString('xmlns', 'command', $null, $ns.command)
$w.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)
$documented = @()
foreach ($file in Get-ChildItem $HelpSource -Filter '*.help.psd1' | Sort-Object Name) {
    $h = Import-PowerShellDataFile $file.FullName
    $cmd = Get-Command $h.Name -Module $module.Name -ErrorAction SilentlyContinue
    if (-not $cmd) { throw "$($file.Name): the module exports no command $($h.Name)." }
    $documented += $h.Name
    $parameters = Get-DocumentedParameters $cmd
    $missing = @($parameters.Name | Where-Object { -not $h.Parameters.ContainsKey($_) })
    if ($missing) { throw "$($file.Name): no description for parameter(s) $($missing -join ', ')." }
    $extra = @($h.Parameters.Keys | Where-Object { $_ -notin $parameters.Name })
    if ($extra) { throw "$($file.Name): describes parameter(s) the command does not have: $($extra -join ', ')." }
    $defaults = Get-DefaultValues $cmd
    $verb, $noun = $h.Name -split '-', 2

    $w.WriteStartElement('command', 'command', $ns.command)
    $w.WriteStartElement('command', 'details', $ns.command)
    $w.WriteElementString('command', 'name', $ns.command, $h.Name)
    $w.WriteStartElement('maml', 'description', $ns.maml); Write-Paras $h.Synopsis; $w.WriteEndElement()
    $w.WriteElementString('command', 'verb', $ns.command, $verb)
    $w.WriteElementString('command', 'noun', $ns.command, $noun)
    $w.WriteEndElement()
    $w.WriteStartElement('maml', 'description', $ns.maml); Write-Paras $h.Description; $w.WriteEndElement()

    # SYNTAX: one item per parameter set; positional parameters first (by position), then the others as declared.
    $w.WriteStartElement('command', 'syntax', $ns.command)
    $sets = @($cmd.ParameterSets | Sort-Object @{ Expression = { -not $_.IsDefault } }, Name)
    foreach ($set in $sets) {
        $w.WriteStartElement('command', 'syntaxItem', $ns.command)
        $w.WriteElementString('maml', 'name', $ns.maml, $h.Name)
        $inSet = @($set.Parameters | Where-Object { $_.Name -notin $common })
        $ordered = @($inSet | Where-Object { $_.Position -ge 0 } | Sort-Object Position) + @($inSet | Where-Object { $_.Position -lt 0 })
        foreach ($p in $ordered) {
            $w.WriteStartElement('command', 'parameter', $ns.command)
            $w.WriteAttributeString('required', $p.IsMandatory.ToString().ToLowerInvariant())
            $w.WriteAttributeString('position', $(if ($p.Position -lt 0) { 'named' } else { "$($p.Position)" }))
            $w.WriteElementString('maml', 'name', $ns.maml, $p.Name)
            if ($p.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
                $w.WriteStartElement('command', 'parameterValue', $ns.command)
                $w.WriteAttributeString('required', 'true')
                $w.WriteString((Get-TypeName $p.ParameterType))
                $w.WriteEndElement()
            }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($p in ($parameters | Sort-Object Name)) {
        $meta = $cmd.Parameters[$p.Name]
        $w.WriteStartElement('command', 'parameter', $ns.command)
        $w.WriteAttributeString('required', (Get-SetValue $meta { param($s) $s.IsMandatory.ToString().ToLowerInvariant() }))
        $w.WriteAttributeString('variableLength', $meta.ParameterType.IsArray.ToString().ToLowerInvariant())
        $w.WriteAttributeString('globbing', (@($meta.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count -gt 0).ToString().ToLowerInvariant())
        $w.WriteAttributeString('pipelineInput', (Get-PipelineText $meta))
        $w.WriteAttributeString('position', (Get-SetValue $meta { param($s) Get-PositionText $s }))
        $w.WriteAttributeString('aliases', $(if ($meta.Aliases.Count) { $meta.Aliases -join ', ' } else { 'none' }))
        $w.WriteElementString('maml', 'name', $ns.maml, $p.Name)
        $w.WriteStartElement('maml', 'description', $ns.maml); Write-Paras $h.Parameters[$p.Name]; $w.WriteEndElement()
        if ($meta.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
            $w.WriteStartElement('command', 'parameterValue', $ns.command)
            $w.WriteAttributeString('required', 'true')
            $w.WriteString((Get-TypeName $meta.ParameterType))
            $w.WriteEndElement()
        }
        $w.WriteStartElement('dev', 'type', $ns.dev)
        $w.WriteElementString('maml', 'name', $ns.maml, $meta.ParameterType.FullName)
        $w.WriteEndElement()
        $w.WriteElementString('dev', 'defaultValue', $ns.dev, $defaults[$p.Name])
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    foreach ($section in @(@{ Key = 'Inputs'; Outer = 'inputTypes'; Inner = 'inputType' }, @{ Key = 'Outputs'; Outer = 'returnValues'; Inner = 'returnValue' })) {
        if ($h.ContainsKey($section.Key)) {
            $w.WriteStartElement('command', $section.Outer, $ns.command)
            foreach ($t in @($h[$section.Key])) {
                $w.WriteStartElement('command', $section.Inner, $ns.command)
                $w.WriteStartElement('dev', 'type', $ns.dev); $w.WriteElementString('maml', 'name', $ns.maml, $t); $w.WriteEndElement()
                $w.WriteEndElement()
            }
            $w.WriteEndElement()
        }
    }

    if ($h.ContainsKey('Notes')) {
        $w.WriteStartElement('maml', 'alertSet', $ns.maml)
        $w.WriteStartElement('maml', 'alert', $ns.maml); Write-Paras $h.Notes; $w.WriteEndElement()
        $w.WriteEndElement()
    }

    $w.WriteStartElement('command', 'examples', $ns.command)
    $i = 0
    foreach ($e in $h.Examples) {
        $i++
        $w.WriteStartElement('command', 'example', $ns.command)
        $w.WriteElementString('maml', 'title', $ns.maml, "-------------------------- Example $($i): $($e.Title) --------------------------")
        $w.WriteElementString('dev', 'code', $ns.dev, $e.Code.Trim())
        $w.WriteStartElement('dev', 'remarks', $ns.dev); Write-Paras $e.Remarks; $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    # RELATED LINKS: the online version first (Get-Help -Online opens it), then the related commands and topics.
    if (-not $h.ContainsKey('Online')) { throw "$($file.Name): no Online page (e.g. 'README.md#$($h.Name.ToLowerInvariant())')." }
    $w.WriteStartElement('maml', 'relatedLinks', $ns.maml)
    $w.WriteStartElement('maml', 'navigationLink', $ns.maml)
    $w.WriteElementString('maml', 'linkText', $ns.maml, 'Online Version:')
    $w.WriteElementString('maml', 'uri', $ns.maml, "$($projectUri.ToString().TrimEnd('/'))/blob/main/$($h.Online)")
    $w.WriteEndElement()
    foreach ($link in @($h.Links)) {
        $w.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $w.WriteElementString('maml', 'linkText', $ns.maml, $link)
        $w.WriteElementString('maml', 'uri', $ns.maml, '')
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Close()

$undocumented = @(Get-Command -Module $module.Name | Where-Object Name -NotIn $documented)
if ($undocumented) { throw "No help source in $HelpSource for: $($undocumented.Name -join ', ')." }

foreach ($topic in Get-ChildItem $HelpSource -Filter 'about_*.help.txt') {
    Copy-Item $topic.FullName $Destination
}
