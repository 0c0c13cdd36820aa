# The package: build.ps1 package (and test) writes BulkData.<version>.nupkg; Install-PSResource and Save-PSResource
# install it from a local repository into a temporary home, and a cmdlet runs from there against s3rver.
# PSResourceGet keeps its repositories and CurrentUser modules under the home folder: a PowerShell of its own
# with HOME and XDG_DATA_HOME in a temporary folder leaves this user's configuration alone.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Nupkg = if ($env:BULKDATA_PACKAGE) { $env:BULKDATA_PACKAGE } else { Get-ChildItem (Join-Path $RepoRoot 'out/package') -Filter *.nupkg | Select-Object -First 1 -ExpandProperty FullName }
    $script:Source = Import-PowerShellDataFile (Join-Path $RepoRoot 'module/BulkData/BulkData.psd1')
    $script:Version = $Source.ModuleVersion
    $script:work = New-TestDirectory
    $script:bucket = New-TestName 'pkg'
    Publish-TestDump -Bucket $bucket -OutDir (Join-Path $work 'dump') | Out-Null

    Add-Type -AssemblyName System.IO.Compression
    $zip = [System.IO.Compression.ZipFile]::OpenRead($Nupkg)
    try {
        $script:Entries = @($zip.Entries.FullName)
        $reader = [IO.StreamReader]::new(($zip.Entries | Where-Object FullName -EQ 'BulkData.nuspec').Open())
        $script:Nuspec = [xml]$reader.ReadToEnd(); $reader.Dispose()
        $reader = [IO.StreamReader]::new(($zip.Entries | Where-Object FullName -EQ 'BulkData.psd1').Open())
        $script:PackedManifest = $reader.ReadToEnd(); $reader.Dispose()
    } finally { $zip.Dispose() }

    function Invoke-Sandboxed([string] $Script) {
        # A PowerShell whose home (and so PSResourceGet's repositories and CurrentUser modules) is in $work.
        $home_ = Join-Path $work 'home'
        # .NET gives no application-data folder that does not exist (PSResourceGet would then write to the current folder).
        New-Item -ItemType Directory -Force -Path $home_, (Join-Path $home_ '.local/share'), (Join-Path $home_ '.config'), (Join-Path $home_ '.cache') | Out-Null
        $saved = @{ HOME = $env:HOME; XDG_DATA_HOME = $env:XDG_DATA_HOME; XDG_CONFIG_HOME = $env:XDG_CONFIG_HOME; XDG_CACHE_HOME = $env:XDG_CACHE_HOME; PSModulePath = $env:PSModulePath }
        $env:HOME = $home_; $env:XDG_DATA_HOME = Join-Path $home_ '.local/share'; $env:XDG_CONFIG_HOME = Join-Path $home_ '.config'; $env:XDG_CACHE_HOME = Join-Path $home_ '.cache'
        Remove-Item Env:PSModulePath   # the child computes its own, from its home
        try {
            $out = & $PwshCommand[0] $PwshCommand[1] -NoLogo -NoProfile -NonInteractive -Command $Script 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Text = (@($out | ForEach-Object { "$_" }) -join "`n") }
        } finally {
            foreach ($k in $saved.Keys) { if ($null -eq $saved[$k]) { Remove-Item "Env:$k" -ErrorAction SilentlyContinue } else { Set-Item "Env:$k" $saved[$k] } }
        }
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'BulkData.<version>.nupkg' {
    It 'is named after the one version source, the manifest, as are the assemblies' {
        Split-Path -Leaf $Nupkg | Should -Be "BulkData.$Version.nupkg"
        $Nuspec.package.metadata.version | Should -Be $Version
        $moduleDir = Split-Path $ModulePath
        (Import-PowerShellDataFile $ModulePath).ModuleVersion | Should -Be $Version
        foreach ($dll in (Join-Path $moduleDir 'BulkData.Cmdlets.dll'), (Join-Path $moduleDir 'dependencies/BulkData.Engine.dll')) {
            [System.Reflection.AssemblyName]::GetAssemblyName($dll).Version.ToString(3) | Should -Be $Version -Because $dll
        }
    }

    It 'carries the project and license addresses, and the CHANGELOG section of its version as release notes' {
        $projectUri = $Source.PrivateData.PSData.ProjectUri
        $projectUri | Should -Be 'https://github.com/bulkdata/BulkData'
        $Nuspec.package.metadata.projectUrl | Should -Be $projectUri
        $Nuspec.package.metadata.licenseUrl | Should -Be "$projectUri/blob/main/LICENSE"
        Join-Path $RepoRoot 'LICENSE' | Should -FileContentMatch 'MIT License'
        Join-Path $RepoRoot 'LICENSE' | Should -FileContentMatch 'The BulkData authors'
        $changelog = Get-Content -Raw (Join-Path $RepoRoot 'CHANGELOG.md')
        $section = [regex]::Match($changelog, "(?ms)^## $([regex]::Escape($Version))[^\n]*\n(.*?)(?=^## |\z)").Groups[1].Value.Trim()
        $section | Should -Not -BeNullOrEmpty
        ($Nuspec.package.metadata.releaseNotes -replace '\r', '').Trim() | Should -Be ($section -replace '\r', '')
        $PackedManifest | Should -Not -Match "ReleaseNotes = ''"
    }

    It 'holds the whole module: cmdlets, dependencies, help, format data, runbook, license' {
        foreach ($f in 'BulkData.psd1', 'BulkData.Cmdlets.dll', 'BulkData.Runbook.psm1', 'LICENSE', 'en-US/BulkData.Cmdlets.dll-Help.xml', 'en-US/about_BulkData.help.txt',
            'dependencies/BulkData.Engine.dll', 'dependencies/AWSSDK.Core.dll', 'dependencies/AWSSDK.S3.dll', 'dependencies/Npgsql.dll') {
            $Entries | Should -Contain $f
        }
        foreach ($f in (Import-PowerShellDataFile $ModulePath).FormatsToProcess) { $Entries | Should -Contain $f }
        $Entries | Where-Object { $_ -like '*.pdb' -or $_ -like '*.deps.json' -or $_ -like 'System.Management.Automation*' } | Should -BeNullOrEmpty
    }

    It 'installs (Install-PSResource) and saves (Save-PSResource) from a local repository, and its cmdlets run from there' {
        $repo = Join-Path $work 'repo'
        New-Item -ItemType Directory -Force -Path $repo | Out-Null
        Copy-Item $Nupkg $repo
        $saved = Join-Path $work 'saved'
        $script = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Register-PSResourceRepository -Name BulkDataLocal -Uri '$repo' -Trusted
Install-PSResource -Name BulkData -Repository BulkDataLocal -Scope CurrentUser -TrustRepository -Quiet
New-Item -ItemType Directory -Force -Path '$saved' | Out-Null
Save-PSResource -Name BulkData -Repository BulkDataLocal -Path '$saved' -TrustRepository -Quiet
`$installed = Get-InstalledPSResource -Name BulkData -Scope CurrentUser
"installed=`$(`$installed.Version) at `$(`$installed.InstalledLocation)"
Import-Module BulkData
"imported from `$((Get-Module BulkData).ModuleBase)"
"commands=`$((Get-Command -Module BulkData).Count)"
"entries=`$(@(Get-BulkManifest -EndpointUrl '$S3Endpoint' -Bucket '$bucket').Count)"
"syntax=`$(@((Get-Help Start-BulkFetch).syntax.syntaxItem).Count)"
"@
        $r = Invoke-Sandboxed $script
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $home_ = Join-Path $work 'home'
        $r.Text | Should -Match "installed=$([regex]::Escape($Version)) at $([regex]::Escape($home_))"
        $r.Text | Should -Match "imported from $([regex]::Escape($home_))/.*/Modules/BulkData/$([regex]::Escape($Version))"
        $r.Text | Should -Match 'commands=9'
        $r.Text | Should -Match 'entries=([1-9]\d*)'
        $r.Text | Should -Match 'syntax=1'
        # The repository was registered in the temporary home, nowhere else.
        Join-Path $home_ '.local/share/PSResourceGet/PSResourceRepository.xml' | Should -FileContentMatch 'BulkDataLocal'
        Join-Path (Get-Location) 'PSResourceGet' | Should -Not -Exist
        # The saved copy is a complete module too: a cmdlet runs from it.
        $manifest = Join-Path $saved "BulkData/$Version/BulkData.psd1"
        $manifest | Should -Exist
        $r2 = Invoke-Sandboxed "Import-Module '$manifest' -ErrorAction Stop; @(Get-BulkManifest -EndpointUrl '$S3Endpoint' -Bucket '$bucket' -Dataset courts).Count"
        $r2.ExitCode | Should -Be 0 -Because $r2.Text
        $r2.Text.Trim() | Should -Be '1'
    }
}
