#!/usr/bin/env pwsh
<#
.SYNOPSIS
The one entry point: build, test, demo, bench, package.

.EXAMPLE
dotnet tool restore && dotnet pwsh ./build.ps1 test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'demo', 'bench', 'package', 'clean')]
    [string] $Task = 'build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Pester: run only the files whose name (without .Tests.ps1) matches one of these wildcards (for example 'Get-BulkManifest').
    [string[]] $PesterFilter = '*',

    # Skip a suite: 'xunit' or 'pester'.
    [string[]] $Skip = @()
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# From a shell (pwsh -File) a list arrives as one comma-separated word: Help,Runbook.
$PesterFilter = @($PesterFilter -split ',' | Where-Object { $_ })
$Skip = @($Skip -split ',' | Where-Object { $_ })
$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'BulkData'
$TestKitOut = Join-Path $Out 'testkit'
$PackageOut = Join-Path $Out 'package'
$PesterVersion = '5.7.1'

function Invoke-Native {
    # A plain function (no [Parameter]): its arguments pass through untouched, '-v:q' included.
    $command, $arguments = $args
    & $command @arguments
    if ($LASTEXITCODE -ne 0) { throw "$command $($arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Install-MachinePackages {
    # What the tests, demo and benchmarks need from Debian (the one list: tools/machine-packages.psd1),
    # installed only when missing: as root directly, otherwise through sudo.
    Import-Module (Join-Path $Root 'tools/MachinePackages.psm1') -Force
    Install-MachinePackage
}

function Build-Module {
    Invoke-Native dotnet build (Join-Path $Root 'BulkData.sln') -c $Configuration --nologo --verbosity quiet '-clp:ErrorsOnly'
    $publish = Join-Path $Out 'publish/BulkData.Cmdlets'
    if (Test-Path $publish) { Remove-Item -Recurse -Force $publish }
    Invoke-Native dotnet publish (Join-Path $Root 'src/BulkData.Cmdlets/BulkData.Cmdlets.csproj') -c $Configuration --no-build --nologo --verbosity quiet -o $publish
    # The module folder: cmdlets and loader at the top, the engine and its dependencies in dependencies/, help.
    & (Join-Path $Root 'tools/New-ModuleLayout.ps1') -PublishPath $publish -Destination $ModuleOut -Root $Root
    Optimize-ModuleAssembly
    Invoke-Native dotnet publish (Join-Path $Root 'tests/BulkData.TestKit/BulkData.TestKit.csproj') -c $Configuration --no-build --nologo --verbosity quiet -o $TestKitOut
    Write-Host "Module: $ModuleOut"
}

function Optimize-ModuleAssembly {
    # ReadyToRun: the module's assemblies, IL unchanged, with code precompiled for the runtime PowerShell 7.6
    # runs on (tools/ReadyToRun/ReadyToRun.csproj says why and what other runtimes do with them).
    $compiled = Join-Path $Out 'publish/ReadyToRun'
    if (Test-Path $compiled) { Remove-Item -Recurse -Force $compiled }
    Invoke-Native dotnet publish (Join-Path $Root 'tools/ReadyToRun/ReadyToRun.csproj') -c $Configuration --nologo --verbosity quiet '-clp:ErrorsOnly' "-p:ModuleFolder=$ModuleOut" -o $compiled
    foreach ($dll in Get-ChildItem -Recurse -File -Filter *.dll $ModuleOut) {
        $precompiled = Join-Path $compiled $dll.Name
        if (-not (Test-Path $precompiled)) { throw "ReadyToRun did not compile $($dll.Name)." }
        # The same module (its MVID): never an image compiled from an earlier build of it.
        if ((Get-ModuleVersionId $precompiled) -ne (Get-ModuleVersionId $dll.FullName)) { throw "ReadyToRun's $($dll.Name) is not compiled from this build's." }
        Copy-Item -Force $precompiled $dll.FullName
    }
}

function Get-ModuleVersionId([string] $Path) {
    # The reader maps the file: disposed, so that the file can be replaced.
    $stream = [IO.File]::OpenRead($Path)
    $pe = [System.Reflection.PortableExecutable.PEReader]::new($stream)
    try {
        $md = [System.Reflection.Metadata.PEReaderExtensions]::GetMetadataReader($pe)
        $md.GetGuid($md.GetModuleDefinition().Mvid)
    } finally { $pe.Dispose(); $stream.Dispose() }
}

function New-ModulePackage {
    # BulkData.<version>.nupkg from the module folder, for Install-PSResource / Save-PSResource from a repository.
    $version = (Import-PowerShellDataFile (Join-Path $ModuleOut 'BulkData.psd1')).ModuleVersion
    if (Test-Path $PackageOut) { Remove-Item -Recurse -Force $PackageOut }
    New-Item -ItemType Directory -Force -Path $PackageOut | Out-Null
    Compress-PSResource -Path $ModuleOut -DestinationPath $PackageOut
    $nupkg = Join-Path $PackageOut "BulkData.$version.nupkg"
    if (-not (Test-Path $nupkg)) { throw "Compress-PSResource did not write $nupkg." }
    Write-Host "Package: $nupkg"
    $nupkg
}

function Import-Pester {
    $nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $psd1 = Join-Path $nugetRoot "pester/$PesterVersion/tools/Pester.psd1"
    if (-not (Test-Path $psd1)) { throw "Pester $PesterVersion is not in the NuGet cache ($psd1): the build restores it (tests/BulkData.TestKit)." }
    Import-Module $psd1 -Force
}

function Invoke-Tests {
    Install-MachinePackages
    Build-Module
    $nupkg = New-ModulePackage
    Import-Module (Join-Path $Root 'tests/TestServices.psm1') -Force
    $summary = [System.Collections.Generic.List[string]]::new()
    $totals = @{ Passed = 0; Failed = 0; Skipped = 0 }
    $services = Start-BulkTestServices
    try {
        $env:BULKDATA_MODULE = Join-Path $ModuleOut 'BulkData.psd1'
        $env:BULKDATA_TESTKIT = Join-Path $TestKitOut 'BulkData.TestKit.dll'
        $env:BULKDATA_REPO = $Root
        $env:BULKDATA_PACKAGE = $nupkg

        if ('xunit' -notin $Skip) {
            $trxDir = Join-Path $Out 'test-results'
            Remove-Item -Recurse -Force $trxDir -ErrorAction SilentlyContinue
            & dotnet test (Join-Path $Root 'tests/BulkData.Engine.Tests/BulkData.Engine.Tests.csproj') -c $Configuration --no-build --nologo `
                --logger 'console;verbosity=minimal' --logger 'trx;LogFileName=engine.trx' --results-directory $trxDir | Out-Host
            $trx = Get-ChildItem $trxDir -Filter 'engine.trx' -Recurse | Select-Object -First 1
            if ($trx) {
                $c = ([xml](Get-Content $trx.FullName -Raw)).TestRun.ResultSummary.Counters
                $p = [int]$c.passed; $f = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted; $s = [int]$c.notExecuted
            } else { $p = 0; $f = 1; $s = 0 }
            if ($LASTEXITCODE -ne 0 -and $f -eq 0) { $f = 1 }
            $summary.Add("xunit (engine): $p passed, $f failed, $s skipped")
            $totals.Passed += $p; $totals.Failed += $f; $totals.Skipped += $s
        }

        if ('pester' -notin $Skip) {
            Import-Pester
            $config = New-PesterConfiguration
            $config.Run.Path = @(Get-ChildItem (Join-Path $Root 'tests/Pester') -Filter '*.Tests.ps1' |
                    Where-Object { $name = $_.Name; @($PesterFilter | Where-Object { $name -like "$_.Tests.ps1" }).Count -gt 0 } | ForEach-Object FullName)
            if ($config.Run.Path.Value.Count -eq 0) { throw "No Pester file matches -PesterFilter $($PesterFilter -join ', ')." }
            $config.Run.PassThru = $true
            $config.Output.Verbosity = 'Detailed'
            $config.TestResult.Enabled = $true
            $config.TestResult.OutputPath = Join-Path $Out 'test-results/pester.xml'
            $result = Invoke-Pester -Configuration $config
            $summary.Add("pester (module): $($result.PassedCount) passed, $($result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount) failed, $($result.SkippedCount) skipped")
            $totals.Passed += $result.PassedCount
            $totals.Failed += $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
            $totals.Skipped += $result.SkippedCount
        }
    } finally {
        Stop-BulkTestServices $services
    }

    Write-Host ''
    $summary | ForEach-Object { Write-Host $_ }
    Write-Host "total: $($totals.Passed) passed, $($totals.Failed) failed, $($totals.Skipped) skipped"
    if ($totals.Failed -gt 0 -or $totals.Passed -eq 0) { exit 1 }
}

function Invoke-Demo {
    Install-MachinePackages
    Build-Module
    Import-Module (Join-Path $Root 'tests/TestServices.psm1') -Force
    $services = Start-BulkTestServices
    try {
        & (Join-Path $Root 'tests/demo.ps1') -Services $services -ModulePath (Join-Path $ModuleOut 'BulkData.psd1') -TestKit (Join-Path $TestKitOut 'BulkData.TestKit.dll')
    } finally {
        Stop-BulkTestServices $services
    }
}

switch ($Task) {
    'build' { Build-Module }
    'test' { Invoke-Tests }
    'demo' { Invoke-Demo }
    'bench' {
        Install-MachinePackages
        Build-Module
        & (Join-Path $Root 'bench/run.ps1') -ModulePath (Join-Path $ModuleOut 'BulkData.psd1') -TestKit (Join-Path $TestKitOut 'BulkData.TestKit.dll')
    }
    'package' {
        Build-Module
        New-ModulePackage | Out-Null
    }
    'clean' { Remove-Item -Recurse -Force $Out -ErrorAction SilentlyContinue }
}
