# Invoke-BulkDataRunbook: the operations plan of BulkData as one exported command. It only orchestrates the
# module's cmdlets (every rule stays in the engine); its help is module/help/Invoke-BulkDataRunbook.help.psd1.
Set-StrictMode -Version Latest

function Invoke-BulkDataRunbook {
    # .EXTERNALHELP BulkData.Cmdlets.dll-Help.xml
    [OutputType('BulkData.RunbookResult')]
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', PositionalBinding = $false)]
    param(
        # Where the dump is fetched to (on this machine); the bulk-data container sees it as -ContainerSource.
        [string] $Destination = '/srv/bulk-data',

        # The transcript. Default: <Destination>/logs/bulk-data-runbook-<UTC time>.log.
        [string] $LogPath,

        # The compose project directory (docker compose --project-directory), e.g. CourtListener's docker/courtlistener. Default: compose's own.
        [string] $ProjectDirectory,

        # The compose files (docker compose -f), e.g. docker-compose.yml, docker-compose.bulk-data.yml; relative to -ProjectDirectory when given. Default: compose's own.
        [string[]] $ComposeFile,

        # The compose project name (docker compose -p). Default: compose's own.
        [string] $ProjectName,

        # Services left running while the import runs. Default: Stop-NonEssentialService's (cl-postgresql, cl-bulk-data).
        [ArgumentCompleter([BulkData.Cmdlets.ComposeServiceCompleter])]
        [string[]] $Keep,

        # Exactly the services to stop, instead of every running one but -Keep.
        [ArgumentCompleter([BulkData.Cmdlets.ComposeServiceCompleter])]
        [string[]] $Service,

        # The docker program.
        [string] $DockerPath = 'docker',

        # Where the import runs: in the bulk-data container (docker compose run --rm --no-deps) or here.
        [ValidateSet('Container', 'InProcess')]
        [string] $ImportMode = 'Container',

        # The compose service that runs the import in Container mode.
        [string] $BulkDataService = 'cl-bulk-data',

        # The dump folder as the container sees it (its volume).
        [string] $ContainerSource = '/srv/bulk-data',

        # The PostgreSQL host, as the import sees it (the compose service name in Container mode).
        [string] $DbHost = 'cl-postgresql',

        # The PostgreSQL port.
        [int] $DbPort = 5432,

        # The database to import into.
        [string] $Database = 'courtlistener',

        # The PostgreSQL user and password. In Container mode the password reaches the container through the BULKDATA_DB_PASSWORD environment variable only.
        [pscredential] $DbCredential,

        # Replaces the import step; called with one argument, the run's context (Destination, DockerPath,
        # ComposeArguments, BulkDataService, Stopped, Files). It must throw to fail the run.
        [scriptblock] $ImportScript,

        # Passed to Get-BulkManifest (e.g. @{ EndpointUrl = 'http://localhost:4568'; Bucket = 'b' }).
        [hashtable] $ManifestParameters = @{},

        # Parallel downloads (Start-BulkFetch -ThrottleLimit). Default: Start-BulkFetch's own.
        [int] $ThrottleLimit,

        # Expand the .bz2 files after download (Start-BulkFetch -Extract); the disk check counts their expanded size.
        [switch] $Extract,

        # S3 credentials for the listing and the fetch (Get-BulkManifest and Start-BulkFetch -Credential). Default: anonymous.
        [pscredential] $S3Credential,

        # A profile of the shared AWS credentials file for the listing and the fetch (Get-BulkManifest and Start-BulkFetch -ProfileName).
        [string] $S3ProfileName,

        # Bytes to keep free beyond what the dump needs.
        [long] $ReserveBytes = 0,

        # Skip the disk-space check and the fetch (the files are already in -Destination).
        [switch] $SkipFetch,

        # Do not ask the import to verify row counts.
        [switch] $NoVerify,

        # Keep the services running: the import loads beside the live tables and swaps them in at once
        # (Invoke-BulkImport -Online); no Stop-NonEssentialService. Changes written during the load are lost.
        [switch] $Online,

        # With -Online: keep the previous generation for Undo-BulkImport (Invoke-BulkImport -KeepPrevious).
        [switch] $KeepPrevious
    )

    Set-StrictMode -Version Latest
    $ErrorActionPreference = 'Stop'
    if ($KeepPrevious -and -not $Online) { throw '-KeepPrevious keeps the previous generation of an -Online import: give -Online too.' }
    if ($Online) {
        # -Online imports in this session (Invoke-BulkImport -Online); the container's entry point knows no such mode.
        if ($ImportScript -or ($PSBoundParameters.ContainsKey('ImportMode') -and $ImportMode -eq 'Container')) { throw '-Online imports with Invoke-BulkImport -Online in this session: it cannot be combined with -ImportScript or -ImportMode Container.' }
        $ImportMode = 'InProcess'
    }

    $compose = @{ DockerPath = $DockerPath }
    if ($ProjectDirectory) {
        $ProjectDirectory = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($ProjectDirectory)
        $compose.ProjectDirectory = $ProjectDirectory
    }
    if ($ComposeFile) {
        $ComposeFile = @($ComposeFile | ForEach-Object {
                # Relative files are relative to the project directory when one is given, as for compose.
                if ($ProjectDirectory -and -not [IO.Path]::IsPathRooted($_)) { Join-Path $ProjectDirectory $_ } else { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($_) }
            })
        $compose.ComposeFile = $ComposeFile
    }
    if ($ProjectName) {
        $compose.ProjectName = $ProjectName
    }
    # The project options between `compose` and its command, by the engine's one rule (as the service cmdlets pass them).
    $composeArgs = [BulkData.Engine.Services.ComposeProject]::new($ProjectDirectory, [string[]]@($ComposeFile), $ProjectName, $PWD.ProviderPath).Arguments()
    if (-not $LogPath) {
        $LogPath = Join-Path $Destination ('logs/bulk-data-runbook-{0:yyyyMMdd-HHmmss}.log' -f [DateTime]::UtcNow)
    }

    $result = [pscustomobject]@{
        PSTypeName      = 'BulkData.RunbookResult'
        Succeeded       = $false
        WhatIf          = [bool]$WhatIfPreference
        LogPath         = $LogPath
        DiskSpace       = $null
        Files           = @()
        Stopped         = @()
        ImportResults   = @()
        RestartedByRun  = @()
        Started         = @()
    }

    function Write-Step([string] $Text) {
        Write-Host ''
        Write-Host ("== {0:u}  {1}" -f [DateTime]::UtcNow, $Text)
    }

    $transcript = $false
    if ($PSCmdlet.ShouldProcess($LogPath, 'Write the run''s transcript')) {
        New-Item -ItemType Directory -Force -Path (Split-Path -Parent $LogPath) | Out-Null
        Start-Transcript -Path $LogPath -Append | Out-Null
        $transcript = $true
    }

    # The S3 credentials reach the listing (unless -ManifestParameters names its own) and the fetch alike.
    $s3 = @{}
    if ($S3Credential) { $s3.Credential = $S3Credential }
    if ($S3ProfileName) { $s3.ProfileName = $S3ProfileName }
    $ManifestParameters = $ManifestParameters.Clone()
    if (-not ($ManifestParameters.ContainsKey('Credential') -or $ManifestParameters.ContainsKey('ProfileName'))) {
        foreach ($k in $s3.Keys) { $ManifestParameters[$k] = $s3[$k] }
    }

    $stopped = @()
    try {
        # 1-2. Disk space and fetch. The manifest is read once, and only when either step runs.
        if ($SkipFetch) {
            Write-Step "Disk space and fetch skipped (-SkipFetch): using the files in $Destination"
        } else {
            $manifest = $null
            if ($PSCmdlet.ShouldProcess($Destination, 'Check the disk space for the newest dump (Get-BulkManifest | Test-BulkDiskSpace)')) {
                Write-Step "Disk space: $Destination"
                $manifest = @(Get-BulkManifest @ManifestParameters)
                $report = $manifest | Test-BulkDiskSpace -Path $Destination -Extract:$Extract -ReserveBytes $ReserveBytes
                $result.DiskSpace = $report
                $report | Format-List | Out-Host
                if (-not $report.IsSufficient) {
                    throw "Not enough disk space at ${Destination}: $($report.RequiredBytes) bytes required plus $($report.ReserveBytes) reserve, $($report.AvailableBytes) available ($($report.ShortfallBytes) short). Nothing was fetched or stopped."
                }
            }
            if ($PSCmdlet.ShouldProcess($Destination, 'Fetch the newest dump (Start-BulkFetch)')) {
                Write-Step "Fetch into $Destination"
                if ($null -eq $manifest) { $manifest = @(Get-BulkManifest @ManifestParameters) }
                $fetch = @{ Destination = $Destination; Extract = $Extract } + $s3
                if ($ThrottleLimit -gt 0) { $fetch.ThrottleLimit = $ThrottleLimit }
                $result.Files = @($manifest | Start-BulkFetch @fetch)
                $result.Files | Out-Host
            }
        }

        # 3. Stop what would fight the import. Under -WhatIf the cmdlet lists what it would stop.
        #    -Online: nothing is stopped (the readers keep the old generation until the swap).
        if ($Online) {
            Write-Step 'Services keep running (-Online): the import loads beside the live tables and swaps them in at once'
        } else {
            Write-Step 'Stop non-essential services'
            $stop = $compose.Clone()
            if ($Service) { $stop.Service = $Service } elseif ($PSBoundParameters.ContainsKey('Keep')) { $stop.Keep = $Keep }
            $stopErrors = $null
            $stopped = @(Stop-NonEssentialService @stop -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable stopErrors)
            $result.Stopped = $stopped
            if ($stopped) { $stopped | Out-Host }
            if ($stopErrors) {
                throw "Services could not be stopped, so the import does not run: $(@($stopErrors | ForEach-Object { $_.Exception.Message }) -join ' ')"
            }
        }

        # 4-5. Import and verify.
        $context = [pscustomobject]@{
            Destination      = $Destination
            DockerPath       = $DockerPath
            ComposeArguments = [string[]]@($composeArgs)
            BulkDataService  = $BulkDataService
            Stopped          = $stopped
            Files            = $result.Files
        }
        if ($ImportScript) {
            if ($PSCmdlet.ShouldProcess('the import script block', 'Import')) {
                Write-Step 'Import (-ImportScript)'
                $result.ImportResults = @(& $ImportScript $context)
            }
        } elseif ($ImportMode -eq 'Container') {
            $user = if ($DbCredential) { $DbCredential.UserName } else { 'postgres' }
            $importArgs = @('compose') + [string[]]@($composeArgs) + @('run', '--rm', '--no-deps', '-e', 'BULKDATA_DB_PASSWORD', $BulkDataService,
                '/workspace/entrypoint-import.sh', '--db-host', $DbHost, '--db-port', "$DbPort", '--db-user', $user, '--db-name', $Database, '--source', $ContainerSource)
            if ($NoVerify) { $importArgs += '--no-verify' }
            if ($PSCmdlet.ShouldProcess("service $BulkDataService", "Import: $DockerPath $($importArgs -join ' ')")) {
                Write-Step "Import in the $BulkDataService container: $DockerPath $($importArgs -join ' ')"
                $hadPassword = Test-Path Env:BULKDATA_DB_PASSWORD
                $oldPassword = $env:BULKDATA_DB_PASSWORD
                try {
                    if ($DbCredential) { $env:BULKDATA_DB_PASSWORD = $DbCredential.GetNetworkCredential().Password }
                    & $DockerPath @importArgs | Out-Host
                    $code = $LASTEXITCODE
                } finally {
                    if ($hadPassword) { $env:BULKDATA_DB_PASSWORD = $oldPassword } else { Remove-Item Env:BULKDATA_DB_PASSWORD -ErrorAction SilentlyContinue }
                }
                if ($code -ne 0) {
                    throw "The import in the $BulkDataService container failed with exit code $code (see the output above and $LogPath)."
                }
            }
        } else {
            if ($PSCmdlet.ShouldProcess("database $Database on ${DbHost}:$DbPort", "Import $Destination (Invoke-BulkImport$(if ($Online) { ' -Online' })$(if ($KeepPrevious) { ' -KeepPrevious' })$(if (-not $NoVerify) { ' -Verify' }))")) {
                Write-Step "Import $Destination into $Database on ${DbHost}:$DbPort"
                $import = @{ Path = $Destination; Host = $DbHost; Port = $DbPort; Database = $Database; Verify = -not $NoVerify; Online = [bool]$Online; KeepPrevious = [bool]$KeepPrevious }
                if ($DbCredential) { $import.Credential = $DbCredential }
                $importErrors = $null
                $result.ImportResults = @(Invoke-BulkImport @import -ErrorAction SilentlyContinue -ErrorVariable importErrors)
                $result.ImportResults | Out-Host
                if ($importErrors) {
                    throw "The import failed: $(@($importErrors | ForEach-Object { $_.Exception.Message }) -join ' ')"
                }
            }
        }
        if ($result.ImportResults) {
            Write-Step 'Verify'
            $failed = @($result.ImportResults | Where-Object {
                    # ImportResult: a table that failed; ImportVerification (-Verify): orphans or duplicate keys found.
                    ($_.PSObject.Properties['Status'] -and "$($_.Status)" -eq 'Failed') -or
                    ($_.PSObject.Properties['Passed'] -and $_.Passed -eq $false)
                })
            if ($failed) {
                throw "Verification failed for: $(@($failed | ForEach-Object { if ($_.PSObject.Properties['Table']) { $_.Table } else { "$_" } }) -join ', ')."
            }
            Write-Host "Verified $(@($result.ImportResults).Count) result(s)."
        }

        $result.Succeeded = $true
    } finally {
        # 6. Start exactly what was stopped, whatever happened above.
        if ($stopped) {
            Write-Step "Start the services stopped in step 3: $(@($stopped.Service) -join ', ')"
            try {
                $result.Started = @($stopped | Start-NonEssentialService -DockerPath $DockerPath -Confirm:$false)
                $result.Started | Out-Host
                if ($result.Succeeded) {
                    # 7. The compose trap: Start-NonEssentialService starts only what is stopped, so a service of step 3
                    # it did not have to start was running again already: something started it during the import.
                    $back = @($stopped.Service | Where-Object { $_ -notin @($result.Started.Service) } | Sort-Object -Unique)
                    $result.RestartedByRun = $back
                    if ($back.Count -gt 0) {
                        Write-Warning ("These services were stopped before the import and are running again: {0}. Something started them during the import - most likely ``docker compose run`` without --no-deps, which starts a service's dependencies (the compose trap). Run the bulk-data service with ``docker compose run --rm --no-deps``." -f ($back -join ', '))
                    } else {
                        Write-Host "All $($stopped.Count) stopped services were still stopped."
                    }
                }
            } catch {
                Write-Error "Starting the services again failed: $($_.Exception.Message). Start them by hand: docker compose start $(@($stopped.Service) -join ' ')" -ErrorAction Continue
            }
        } elseif ($WhatIfPreference) {
            $null = $PSCmdlet.ShouldProcess('the services stopped in step 3', 'Start again (Start-NonEssentialService)')
        }
        if ($transcript) {
            Write-Step "Done: $(if ($result.Succeeded) { 'succeeded' } else { 'FAILED' })"
            Stop-Transcript | Out-Null
        }
    }
    $result
}

Export-ModuleMember -Function Invoke-BulkDataRunbook
