# Isolated dependencies: the engine, AWSSDK.*, Npgsql and their dependencies load into BulkData's private
# AssemblyLoadContext. In a PowerShell of its own, other versions (AWSSDK.Core/S3 3.7 as AWS.Tools carries,
# Npgsql 8; restored from NuGet by tests/BulkData.TestPackages) are loaded before or after the module, and
# both are used against the real services: s3rver and PostgreSQL.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:work = New-TestDirectory
    $script:bucket = New-TestName 'deps'
    Publish-TestDump -Bucket $bucket -OutDir (Join-Path $work 'dump') | Out-Null

    # The versions the build restored: read from the project that restores them (one list).
    $nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $proj = [xml](Get-Content -Raw (Join-Path $RepoRoot 'tests/BulkData.TestPackages/BulkData.TestPackages.csproj'))
    $script:Others = @{}
    foreach ($p in $proj.Project.ItemGroup.PackageDownload) { $Others[$p.Include] = $p.Version.Trim('[', ']') }
    $load = 'Microsoft.Extensions.DependencyInjection.Abstractions', 'Microsoft.Extensions.Logging.Abstractions', 'AWSSDK.Core', 'AWSSDK.S3', 'Npgsql'
    $script:Assemblies = foreach ($name in $load) {
        $path = Join-Path $nugetRoot "$($name.ToLowerInvariant())/$($Others[$name])/lib/net8.0/$name.dll"
        if (-not (Test-Path $path)) { throw "$path is missing: ./build.ps1 build restores it (tests/BulkData.TestPackages)." }
        $path
    }

    function Invoke-Child([string] $Order) {
        $db = New-TestName 'deps' -replace '-', '_'
        $dest = Join-Path $work "fetch-$Order"
        $out = & $PwshCommand[0] $PwshCommand[1] -NoLogo -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'Dependencies.Child.ps1') `
            -Order $Order -ModulePath $ModulePath -Assemblies ($Assemblies -join ',') -S3Endpoint $S3Endpoint -Bucket $bucket `
            -PgConnectionString $PgConnectionString -Database $db -Destination $dest 2>&1
        $text = @($out | ForEach-Object { "$_" })
        $json = $text | Where-Object { $_.StartsWith('{"Order"') } | Select-Object -Last 1
        if (-not $json) { throw "The child PowerShell printed no report (exit $LASTEXITCODE):`n$($text -join "`n")" }
        $json | ConvertFrom-Json
    }

    function Assert-Report($r, [string] $BulkLabel, [string] $OthersLabel) {
        # BulkData listed, fetched and imported the whole dump...
        $r."${BulkLabel}Entries" | Should -BeGreaterThan 3
        $r."${BulkLabel}FileStates" | Should -Be @('Downloaded')
        $r."${BulkLabel}ImportStatuses" | Should -Be @('Imported')
        $r."${BulkLabel}CourtRows" | Should -BeGreaterThan 0
        # ...and the other versions, in the session's own context, saw the same bucket and the rows it loaded.
        $r."${OthersLabel}S3Keys" | Should -Be $r."${BulkLabel}Entries"
        $r."${OthersLabel}Courts" | Should -Be $r."${BulkLabel}CourtRows"
        $r."${OthersLabel}AwsCore" | Should -BeLike '3.*'
        $r."${OthersLabel}Npgsql" | Should -BeLike '8.*'
        # Two copies of each, one per context: the session's (3.x, 8.x) and BulkData's own (newer).
        $r.'Loaded:AWSSDK.Core' | Should -HaveCount 2
        $r.'Loaded:AWSSDK.Core' | Where-Object { $_ -like 'Default=3.*' } | Should -HaveCount 1
        $r.'Loaded:AWSSDK.Core' | Where-Object { $_ -like 'BulkData=4.*' } | Should -HaveCount 1
        $r.'Loaded:Npgsql' | Where-Object { $_ -like 'Default=8.*' } | Should -HaveCount 1
        $r.'Loaded:Npgsql' | Where-Object { $_ -like 'BulkData=9.*' } | Should -HaveCount 1
        $r.'Loaded:BulkData.Engine' | Should -HaveCount 1
        $r.'Loaded:BulkData.Engine'[0] | Should -BeLike 'BulkData=*'
        $r.'Loaded:BulkData.Cmdlets' | Should -HaveCount 1
        $r.'Loaded:BulkData.Cmdlets'[0] | Should -BeLike 'Default=*'
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'BulkData beside other versions of its dependencies' {
    It 'the module''s assemblies: the cmdlets reference neither AWSSDK nor Npgsql, the rest is under dependencies/' {
        $moduleDir = Split-Path $ModulePath
        @(Get-ChildItem $moduleDir -Filter *.dll).Name | Should -Be @('BulkData.Cmdlets.dll')
        $deps = @(Get-ChildItem (Join-Path $moduleDir 'dependencies') -Filter *.dll).Name
        foreach ($n in 'BulkData.Engine.dll', 'AWSSDK.Core.dll', 'AWSSDK.S3.dll', 'Npgsql.dll') { $deps | Should -Contain $n }
        $stream = [IO.File]::OpenRead((Join-Path $moduleDir 'BulkData.Cmdlets.dll'))
        $pe = $null
        try {
            $pe = [System.Reflection.PortableExecutable.PEReader]::new($stream)
            $md = [System.Reflection.Metadata.PEReaderExtensions]::GetMetadataReader($pe)
            $names = @(foreach ($h in $md.AssemblyReferences) { $md.GetString($md.GetAssemblyReference($h).Name) })
        } finally { if ($pe) { $pe.Dispose() }; $stream.Dispose() }
        $names | Should -Contain 'BulkData.Engine'
        $names | Where-Object { $_ -like 'AWSSDK*' -or $_ -like 'Npgsql*' -or $_ -like 'Microsoft.Extensions*' } | Should -BeNullOrEmpty
    }

    It 'works when AWSSDK 3.7 and Npgsql 8 were loaded first, and they still work after' {
        $r = Invoke-Child 'Before'
        $r.Error | Should -BeNullOrEmpty
        $r.Succeeded | Should -BeTrue
        $r.Steps | Should -Be @('others loaded', 'others used (First, S3)', 'bulkdata used (First)', 'others used (Second)')
        Assert-Report $r 'First' 'Second'
    }

    It 'works when AWSSDK 3.7 and Npgsql 8 are loaded after it, and goes on working' {
        $r = Invoke-Child 'After'
        $r.Error | Should -BeNullOrEmpty
        $r.Succeeded | Should -BeTrue
        $r.Steps | Should -Be @('bulkdata used (First)', 'others loaded', 'others used (First)', 'bulkdata used (Second)')
        Assert-Report $r 'First' 'First'
        # The second run re-fetches nothing (complete files are skipped) and imports again (-Force).
        $r.SecondFileStates | Should -Be @('Skipped')
        $r.SecondImportStatuses | Should -Be @('Imported')
        $r.SecondCourtRows | Should -Be $r.FirstCourtRows
    }
}

Describe 'Precompiled assemblies (ReadyToRun)' {
    It 'every assembly of the module still targets net8.0 and carries code compiled ahead for this runtime' {
        $moduleDir = Split-Path $ModulePath
        $dlls = @(Get-ChildItem -Recurse -File -Filter *.dll $moduleDir)
        $dlls.Count | Should -BeGreaterThan 5
        foreach ($dll in $dlls) {
            $stream = [IO.File]::OpenRead($dll.FullName)
            $pe = $null
            try {
                $pe = [System.Reflection.PortableExecutable.PEReader]::new($stream)
                # A ReadyToRun image has a managed native header; an IL-only one has none.
                $pe.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size | Should -BeGreaterThan 0 -Because "$($dll.Name) is precompiled"
                if ($dll.Name -like 'BulkData.*') {
                    $md = [System.Reflection.Metadata.PEReaderExtensions]::GetMetadataReader($pe)
                    $tfm = foreach ($h in $md.CustomAttributes) {
                        $a = $md.GetCustomAttribute($h)
                        if ($a.Constructor.Kind -ne 'MemberReference') { continue }
                        $ctor = $md.GetMemberReference([System.Reflection.Metadata.MemberReferenceHandle]::op_Explicit($a.Constructor))
                        if ($ctor.Parent.Kind -ne 'TypeReference') { continue }
                        $type = $md.GetTypeReference([System.Reflection.Metadata.TypeReferenceHandle]::op_Explicit($ctor.Parent))
                        if ($md.GetString($type.Name) -eq 'TargetFrameworkAttribute') {
                            $blob = $md.GetBlobReader($a.Value); $null = $blob.ReadUInt16(); $blob.ReadSerializedString()
                        }
                    }
                    $tfm | Should -Be '.NETCoreApp,Version=v8.0' -Because "$($dll.Name) must still load in PowerShell 7.4"
                }
            } finally { if ($pe) { $pe.Dispose() }; $stream.Dispose() }
        }
    }

    It 'a fresh PowerShell runs the engine''s code as compiled ahead: it JIT-compiles almost none of the engine''s methods' {
        # The runtime's perf map lists each method it compiles, with its assembly and tier. Expanding a .bz2 runs
        # the decoder, the file writer and the cmdlet's engine plumbing: several hundred engine methods, each
        # compiled at start (QuickJitted) when the code is IL only.
        $dir = Join-Path $work 'r2r'
        New-Item -ItemType Directory -Force $dir | Out-Null
        $csv = Join-Path $dir 'courts.csv'
        Set-Content -Path $csv -Value ((1..2000 | ForEach-Object { "$_,""court $_""" }) -join "`n")
        & bzip2 -k $csv
        Remove-Item $csv
        $env:DOTNET_PerfMapEnabled = '3'
        $env:DOTNET_PerfMapShowOptimizationTiers = '1'
        $env:DOTNET_PerfMapJitDumpPath = $dir
        try {
            $childPid = & $PwshCommand[0] $PwshCommand[1] -NoLogo -NoProfile -NonInteractive -Command "Import-Module '$ModulePath'; `$null = Expand-BulkFile -Path '$csv.bz2' -KeepCompressed; `$PID"
        } finally {
            Remove-Item Env:DOTNET_PerfMapEnabled, Env:DOTNET_PerfMapShowOptimizationTiers, Env:DOTNET_PerfMapJitDumpPath
        }
        $LASTEXITCODE | Should -Be 0
        (Get-Content $csv).Count | Should -Be 2000
        $map = Join-Path $dir "perf-$($childPid | Select-Object -Last 1).map"
        $map | Should -Exist
        $engine = @(Get-Content $map | Where-Object { $_ -match '\[BulkData\.Engine\] ' })
        $quick = @($engine | Where-Object { $_ -like '*`[QuickJitted`]' })
        # With IL only this is several hundred; precompiled, only what ReadyToRun cannot compile ahead is left.
        $quick.Count | Should -BeLessThan 40 -Because "the engine's methods JIT-compiled at start were:`n$($quick -join "`n")"
    }
}
