<#
.SYNOPSIS
Writes the module's MAML help (en-US/BulkData.Cmdlets.dll-Help.xml) from module/help/*.help.psd1.

.DESCRIPTION
Each cmdlet's help lives in one data file: Synopsis, Description, Parameters (name = text), Examples
(Title, Code, Remarks), Inputs, Outputs, Notes. The syntax is taken from the compiled cmdlets, so it
cannot drift from the parameters. An example may also carry Runnable = $false and Reason = '...': the
help suite (tests/Pester/Help.Tests.ps1) then skips running it, with that reason; they are not written to MAML.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $HelpSource,
    [Parameter(Mandatory)] [string] $Destination
)
$ErrorActionPreference = 'Stop'

$ns = @{
    maml = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev = 'http://schemas.microsoft.com/maml/dev/2004/10'
}
$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
New-Item -ItemType Directory -Force -Path (Split-Path $Destination) | Out-Null
$w = [System.Xml.XmlWriter]::Create($Destination, $settings)

function Write-Paras([string] $prefix, [string] $text) {
    foreach ($para in ($text -split "`r?`n`r?`n")) {
        $w.WriteElementString('maml', 'para', $ns.maml, ($para -replace '\s*\r?\n\s*', ' ').Trim())
    }
}

$w.WriteStartDocument()
$w.WriteStartElement('helpItems')
$w.WriteAttributeString('schema', 'maml')
$w.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
$w.WriteAttributeString('xmlns', 'command', $null, $ns.command)
$w.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)
foreach ($file in Get-ChildItem $HelpSource -Filter '*.help.psd1' | Sort-Object Name) {
    $h = Import-PowerShellDataFile $file.FullName
    $verb, $noun = $h.Name -split '-', 2
    $w.WriteStartElement('command', 'command', $ns.command)
    $w.WriteStartElement('command', 'details', $ns.command)
    $w.WriteElementString('command', 'name', $ns.command, $h.Name)
    $w.WriteStartElement('maml', 'description', $ns.maml); Write-Paras 'maml' $h.Synopsis; $w.WriteEndElement()
    $w.WriteElementString('command', 'verb', $ns.command, $verb)
    $w.WriteElementString('command', 'noun', $ns.command, $noun)
    $w.WriteEndElement()
    $w.WriteStartElement('maml', 'description', $ns.maml); Write-Paras 'maml' $h.Description; $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($p in ($h.Parameters.Keys | Sort-Object)) {
        $w.WriteStartElement('command', 'parameter', $ns.command)
        $w.WriteElementString('maml', 'name', $ns.maml, $p)
        $w.WriteStartElement('maml', 'description', $ns.maml); Write-Paras 'maml' $h.Parameters[$p]; $w.WriteEndElement()
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
        $w.WriteStartElement('maml', 'alert', $ns.maml); Write-Paras 'maml' $h.Notes; $w.WriteEndElement()
        $w.WriteEndElement()
    }

    $w.WriteStartElement('command', 'examples', $ns.command)
    $i = 0
    foreach ($e in $h.Examples) {
        $i++
        $w.WriteStartElement('command', 'example', $ns.command)
        $w.WriteElementString('maml', 'title', $ns.maml, "-------------------------- Example $($i): $($e.Title) --------------------------")
        $w.WriteElementString('dev', 'code', $ns.dev, $e.Code.Trim())
        $w.WriteStartElement('dev', 'remarks', $ns.dev); Write-Paras 'maml' $e.Remarks; $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Close()
