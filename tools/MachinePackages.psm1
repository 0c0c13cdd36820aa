# Installs the machine packages of tools/machine-packages.psd1 that are missing, with apt-get: as root
# directly, as another user through sudo. build.ps1 calls Install-MachinePackage before test, demo and bench.
Set-StrictMode -Version Latest

$script:ListPath = Join-Path $PSScriptRoot 'machine-packages.psd1'

function Get-MachinePackageList {
    <# The list, as objects with Package and Command or Path. #>
    [CmdletBinding()]
    param([string] $ListPath = $script:ListPath)
    foreach ($p in (Import-PowerShellDataFile $ListPath).Packages) {
        [pscustomobject]@{ Package = $p.Package; Command = $p['Command']; Path = $p['Path'] }
    }
}

function Get-MissingMachinePackage {
    <# The packages whose command is not on PATH or whose file is absent. -FileSystemRoot prefixes the paths (tests). #>
    [CmdletBinding()]
    param([string] $ListPath = $script:ListPath, [string] $FileSystemRoot = '')
    foreach ($p in Get-MachinePackageList -ListPath $ListPath) {
        $present = if ($p.Command) { [bool](Get-Command $p.Command -CommandType Application -ErrorAction SilentlyContinue) } else { Test-Path ($FileSystemRoot + $p.Path) }
        if (-not $present) { $p.Package }
    }
}

function Get-MachinePackageCommand {
    <#
    The commands that install -Package, as argument arrays: apt-get update, then apt-get install; through
    sudo unless -IsRoot. sudo resets the environment, so DEBIAN_FRONTEND goes in as its argument (as root it
    is set in this process's environment).
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string[]] $Package, [Parameter(Mandatory)] [bool] $IsRoot)
    $prefix = if ($IsRoot) { @() } else { @('sudo', 'DEBIAN_FRONTEND=noninteractive') }
    , ($prefix + @('apt-get', 'update', '-qq'))
    , ($prefix + @('apt-get', 'install', '-y', '-qq', '--no-install-recommends') + $Package)
}

function Test-RootUser {
    <# True when this process runs as root (id -u is 0). #>
    $uid = & id -u
    if ($LASTEXITCODE -ne 0) { throw 'id -u failed: cannot tell whether this is root.' }
    "$uid".Trim() -eq '0'
}

function Install-MachinePackage {
    <# Installs what is missing; does nothing (not even apt-get update) when nothing is. #>
    [CmdletBinding()]
    param([string] $ListPath = $script:ListPath, [string] $FileSystemRoot = '')
    $missing = @(Get-MissingMachinePackage -ListPath $ListPath -FileSystemRoot $FileSystemRoot)
    if ($missing.Count -eq 0) { return }
    if (-not $IsLinux -or -not (Get-Command apt-get -CommandType Application -ErrorAction SilentlyContinue)) {
        throw "Missing packages: $($missing -join ', '). Install them with your package manager (the list: $ListPath)."
    }
    $root = Test-RootUser
    if (-not $root -and -not (Get-Command sudo -CommandType Application -ErrorAction SilentlyContinue)) {
        throw "Missing packages: $($missing -join ', '). Not root and sudo is not installed: run as root, or install sudo."
    }
    Write-Host "Installing $($missing -join ', ') from Debian's packages$(if (-not $root) { ' (through sudo)' })"
    $frontend = $env:DEBIAN_FRONTEND
    $env:DEBIAN_FRONTEND = 'noninteractive'
    try {
        foreach ($command in Get-MachinePackageCommand -Package $missing -IsRoot $root) {
            $program, $arguments = $command
            & $program @arguments | Out-Host
            if ($LASTEXITCODE -ne 0) { throw "$($command -join ' ') failed with exit code $LASTEXITCODE" }
        }
    } finally { $env:DEBIAN_FRONTEND = $frontend }
    $still = @(Get-MissingMachinePackage -ListPath $ListPath -FileSystemRoot $FileSystemRoot)
    if ($still) { throw "apt-get install ended but these are still missing: $($still -join ', ')." }
}

Export-ModuleMember -Function Get-MachinePackageList, Get-MissingMachinePackage, Get-MachinePackageCommand, Test-RootUser, Install-MachinePackage
