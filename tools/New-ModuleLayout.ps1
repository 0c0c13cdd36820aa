<#
.SYNOPSIS
Lays out the BulkData module folder from the cmdlets' `dotnet publish` output: the one layout that build.ps1
and the docker image both use.

.DESCRIPTION
  <Destination>/BulkData.Cmdlets.dll      the cmdlets and the loader (the default AssemblyLoadContext)
  <Destination>/dependencies/             the engine, AWSSDK.*, Npgsql, Microsoft.Extensions.* (a private
                                          AssemblyLoadContext: see src/BulkData.Cmdlets/ModuleInitializer.cs)
  <Destination>/BulkData.psd1, *.psm1, *.format.ps1xml   from module/BulkData; the manifest's ReleaseNotes
                                          are the manifest version's section of CHANGELOG.md
  <Destination>/en-US/                    MAML help (tools/New-CmdletHelp.ps1, from module/help and the
                                          compiled commands) and about_BulkData.help.txt
The version has one source: ModuleVersion in module/BulkData/BulkData.psd1 (Directory.Build.props reads it
for the assemblies; the package is named after it).
#>
[CmdletBinding()]
param(
    # The `dotnet publish` output of src/BulkData.Cmdlets.
    [Parameter(Mandatory)] [string] $PublishPath,
    # The module folder to write (replaced).
    [Parameter(Mandatory)] [string] $Destination,
    # The repository root (CHANGELOG.md).
    [string] $Root = (Split-Path -Parent $PSScriptRoot),
    # The module's own files: manifest, script module, format data.
    [string] $ModuleSource = (Join-Path $Root 'module/BulkData'),
    # The help sources: <command>.help.psd1 and about_*.help.txt.
    [string] $HelpSource = (Join-Path $Root 'module/help'),
    # The help writer.
    [string] $HelpTool = (Join-Path $Root 'tools/New-CmdletHelp.ps1')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$loaderAssembly = 'BulkData.Cmdlets.dll'
if (-not (Test-Path (Join-Path $PublishPath $loaderAssembly))) { throw "$loaderAssembly is not in ${PublishPath}: publish src/BulkData.Cmdlets first." }
if (Test-Path $Destination) { Remove-Item -Recurse -Force $Destination }
$deps = Join-Path $Destination 'dependencies'
New-Item -ItemType Directory -Force -Path $deps | Out-Null

foreach ($f in Get-ChildItem -File $PublishPath) {
    if ($f.Extension -eq '.pdb' -or $f.Name -like '*.deps.json') { continue }
    # System.Management.Automation is PowerShell's own: never shipped (PowerShellStandard.Library is compile-only).
    if ($f.Name -like 'System.Management.Automation*') { continue }
    $target = if ($f.Name -eq $loaderAssembly) { $Destination } else { $deps }
    Copy-Item $f.FullName $target
}
foreach ($d in Get-ChildItem -Directory $PublishPath) {
    # Satellite or runtime folders of a dependency stay with it.
    Copy-Item -Recurse $d.FullName (Join-Path $deps $d.Name)
}

Copy-Item -Recurse -Force (Join-Path $ModuleSource '*') $Destination
Copy-Item (Join-Path $Root 'LICENSE') $Destination   # the package carries its license

# ReleaseNotes: the CHANGELOG.md section of this version.
$manifestPath = Join-Path $Destination 'BulkData.psd1'
$manifest = Import-PowerShellDataFile $manifestPath
$version = $manifest.ModuleVersion
$changelog = Get-Content -Raw (Join-Path $Root 'CHANGELOG.md')
$section = [regex]::Match($changelog, "(?ms)^## \[?$([regex]::Escape($version))\]?[^\n]*\n(.*?)(?=^## |\z)")
if (-not $section.Success) { throw "CHANGELOG.md has no section '## $version' for the manifest's ModuleVersion." }
$notes = $section.Groups[1].Value.Trim()
$licenseUri = "$($manifest.PrivateData.PSData.ProjectUri.TrimEnd('/'))/blob/main/LICENSE"
$text = Get-Content -Raw $manifestPath
foreach ($fill in @(@{ Marker = "ReleaseNotes = ''"; Value = $notes }, @{ Marker = "LicenseUri   = ''"; Value = $licenseUri })) {
    if (-not $text.Contains($fill.Marker)) { throw "module/BulkData/BulkData.psd1 must carry ""$($fill.Marker)"" (the build fills it in)." }
    $name = $fill.Marker.Split('=')[0].TrimEnd()
    $text = $text.Replace($fill.Marker, "$name = '$($fill.Value.Replace("'", "''"))'")
}
Set-Content -Path $manifestPath -Value $text -NoNewline -Encoding utf8

# Help: written by a child PowerShell that imports the module just laid out (the syntax and parameter
# metadata come from the compiled commands), so this process never loads the module's assemblies.
$pwsh = [Environment]::ProcessPath
$pwshArgs = @()
if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -eq 'dotnet') { $pwshArgs = @(Join-Path $PSHOME 'pwsh.dll') }
& $pwsh @pwshArgs -NoLogo -NoProfile -NonInteractive -File $HelpTool -HelpSource $HelpSource -ModulePath $manifestPath -Destination (Join-Path $Destination 'en-US')
if ($LASTEXITCODE -ne 0) { throw "tools/New-CmdletHelp.ps1 failed with exit code $LASTEXITCODE" }
