# Invoke-BulkDataRunbook (the module's exported runbook command): the service steps, the compose trap, -WhatIf and the restart after a failure,
# against the stand-in docker program. (The fetch and import steps with real data are covered by the
# end-to-end run; here the import runs through the stand-in's `compose run` or an -ImportScript.)
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'DockerStandIn.ps1')
    $script:Runbook = 'Invoke-BulkDataRunbook'   # the exported command, called by name
    $script:setup = Start-CourtListenerStandIn
    $script:si = $setup.StandIn
    $script:cl = $setup.Project
    $script:nonEssential = @('cl-celery', 'cl-django', 'cl-es', 'cl-redis', 'cl-selenium', 'cl-tailwind-reload', 'cl-webhook-sentry', 'cl-webpack')
    $script:Password = 'pw-' + [guid]::NewGuid().ToString('N')
    $script:Credential = [pscredential]::new('postgres', (ConvertTo-SecureString $script:Password -AsPlainText -Force))
    $script:Common = @{
        Destination  = (Join-Path $script:si.Root 'bulk-data')
        ComposeFile  = $script:cl.ComposeFile
        DockerPath   = $script:si.Docker
        DbCredential = $script:Credential
        SkipFetch    = $true
    }
}

AfterAll {
    Stop-CourtListenerStandIn $setup
}

Describe 'Invoke-BulkDataRunbook' {
    BeforeEach {
        Reset-CourtListenerStandIn $setup
        $state = Get-Content -Raw $si.State | ConvertFrom-Json -AsHashtable
        $state.runs = @()
        $state | ConvertTo-Json -Depth 10 | Set-Content $si.State
        $script:log = Join-Path $si.Root ("runbook-{0}.log" -f [guid]::NewGuid().ToString('N').Substring(0, 6))
    }

    It 'stops the non-essential services, imports in the bulk-data container with --no-deps, and starts exactly those again' {
        $result = & $Runbook @Common -LogPath $log 6> $null

        $result.Succeeded | Should -BeTrue
        @($result.Stopped.Service | Sort-Object) | Should -Be $nonEssential
        @($result.Started.Service | Sort-Object) | Should -Be $nonEssential
        $result.RestartedByRun.Count | Should -Be 0
        # The import ran once, as the old plan's entrypoint with its arguments, with --rm --no-deps, the
        # password through the environment and not on the command line.
        $runs = @(Get-StandInRuns $si)
        $runs.Count | Should -Be 1
        $runs[0].service | Should -Be 'cl-bulk-data'
        $runs[0].rm | Should -BeTrue
        $runs[0].noDeps | Should -BeTrue
        ($runs[0].command -join ' ') | Should -Be '/workspace/entrypoint-import.sh --db-host cl-postgresql --db-port 5432 --db-user postgres --db-name courtlistener --source /srv/bulk-data'
        $runs[0].env.BULKDATA_DB_PASSWORD | Should -BeTrue
        # Order of the docker calls: stop, then run, then start.
        $calls = @(Get-StandInCalls $si | ForEach-Object { $_ -join ' ' })
        $stopAt = [array]::FindIndex([string[]]$calls, [Predicate[string]] { param($c) $c -match ' stop ' })
        $runAt = [array]::FindIndex([string[]]$calls, [Predicate[string]] { param($c) $c -match ' run --rm --no-deps ' })
        $startAt = [array]::FindIndex([string[]]$calls, [Predicate[string]] { param($c) $c -match ' start ' })
        $stopAt | Should -BeGreaterOrEqual 0
        $runAt | Should -BeGreaterThan $stopAt
        $startAt | Should -BeGreaterThan $runAt
        # Everything is running again; the password is nowhere in the docker calls or the transcript.
        $states = Get-StandInStates $si
        foreach ($n in $nonEssential + 'cl-postgresql') { $states[$n] | Should -Be 'running' }
        ($calls -join "`n") | Should -Not -Match $Password
        Test-Path $log | Should -BeTrue
        $transcript = Get-Content -Raw $log
        $transcript | Should -Match 'Stop non-essential services'
        $transcript | Should -Match 'Import in the cl-bulk-data container'
        $transcript | Should -Match 'still stopped'
        $transcript | Should -Match 'Start the services stopped in step 3'
        $transcript | Should -Not -Match $Password
    }

    It 'runs the import in-process through -ImportScript with the context, and honours -Service' {
        $seen = @{}
        $standIn = $si
        $import = {
            param($ctx)
            $seen.States = @{}
            foreach ($c in (Get-Content -Raw $standIn.State | ConvertFrom-Json).projects.courtlistener.containers) { $seen.States[$c.service] = $c.state }
            $seen.Context = $ctx
            [pscustomobject]@{ Table = 'search_docket'; Status = 'Imported'; Rows = 10 }
        }.GetNewClosure()
        $result = & $Runbook @Common -LogPath $log -Service cl-django, cl-celery -ImportScript $import 6> $null
        $result.Succeeded | Should -BeTrue
        @($result.Stopped.Service | Sort-Object) | Should -Be @('cl-celery', 'cl-django')
        # During the import exactly those were stopped.
        $seen.States['cl-django'] | Should -Be 'exited'
        $seen.States['cl-celery'] | Should -Be 'exited'
        $seen.States['cl-es'] | Should -Be 'running'
        $seen.Context.ComposeArguments | Should -Be @('-f', $cl.ComposeFile[0], '-f', $cl.ComposeFile[1])
        $result.ImportResults.Table | Should -Be 'search_docket'
        (Get-StandInStates $si)['cl-django'] | Should -Be 'running'
    }

    It 'fails when verification fails, and still starts the services again' {
        { & $Runbook @Common -LogPath $log -ImportScript { [pscustomobject]@{ Table = 'search_opinion'; Check = 'Orphans'; Constraint = 'search_opinion_cluster_id_fk'; Count = 3; Passed = $false } } 6> $null } |
            Should -Throw -ExpectedMessage '*Verification failed for: search_opinion*'
        $states = Get-StandInStates $si
        foreach ($n in $nonEssential) { $states[$n] | Should -Be 'running' }
    }

    It 'starts the services again when the import in the container fails' {
        $env:BULKDATA_DOCKER_RUN_EXIT = '3'
        { & $Runbook @Common -LogPath $log 6> $null } | Should -Throw -ExpectedMessage '*import in the cl-bulk-data container failed with exit code 3*'
        $states = Get-StandInStates $si
        foreach ($n in $nonEssential + 'cl-postgresql') { $states[$n] | Should -Be 'running' }
        $transcript = Get-Content -Raw $log
        $transcript | Should -Match 'Start the services stopped in step 3'
        $transcript | Should -Match 'FAILED'
    }

    It 'starts the services again when the import script throws' {
        { & $Runbook @Common -LogPath $log -ImportScript { throw 'the import broke' } 6> $null } | Should -Throw -ExpectedMessage '*the import broke*'
        $states = Get-StandInStates $si
        foreach ($n in $nonEssential) { $states[$n] | Should -Be 'running' }
    }

    It 'does not import when a service will not stop, names it, and starts the others again' {
        $env:BULKDATA_DOCKER_UNSTOPPABLE = 'cl-es'
        { & $Runbook @Common -LogPath $log 6> $null } | Should -Throw -ExpectedMessage "*could not be stopped*Service 'cl-es'*did not stop*"
        @(Get-StandInRuns $si).Count | Should -Be 0
        $states = Get-StandInStates $si
        foreach ($n in $nonEssential) { $states[$n] | Should -Be 'running' }
    }

    It 'a missing docker program fails before anything is stopped' {
        $missing = Join-Path $si.Root 'no-such-bin/docker'
        { & $Runbook @Common -DockerPath $missing -LogPath $log 6> $null } | Should -Throw -ExpectedMessage "*docker program '$missing' could not be started*"
    }

    Context 'the compose trap' {
        BeforeAll {
            # The old plan's mistake: a bulk-data service that depends on the web app, run without --no-deps.
            $script:trapDir = Join-Path $si.Root 'trap/docker/courtlistener'
            New-Item -ItemType Directory -Force -Path $trapDir | Out-Null
            Set-Content (Join-Path $trapDir 'docker-compose.yml') $script:CourtListenerCompose
            Set-Content (Join-Path $trapDir 'docker-compose.bulk-data.yml') @'
services:
  cl-bulk-data:
    image: cl-bulk-data
    depends_on: [cl-postgresql, cl-django]
    profiles: [bulk-data]
'@
            $script:trapFiles = @((Join-Path $trapDir 'docker-compose.yml'), (Join-Path $trapDir 'docker-compose.bulk-data.yml'))
            $script:trapArgs = @('compose', '-f', $trapFiles[0], '-f', $trapFiles[1])
        }
        BeforeEach {
            Invoke-StandIn $si -Arguments ($trapArgs + @('up', '-d')) | Out-Null
            Invoke-StandIn $si -Arguments ($trapArgs + @('stop') + $nonEssential) | Out-Null
        }

        It '`docker compose run` without --no-deps starts the stopped dependencies again' {
            Invoke-StandIn $si -Arguments ($trapArgs + @('run', '--rm', 'cl-bulk-data', 'true')) | Out-Null
            $states = Get-StandInStates $si
            # cl-django and everything it depends on came back; the rest stayed stopped.
            foreach ($n in 'cl-django', 'cl-celery', 'cl-redis', 'cl-selenium', 'cl-es') { $states[$n] | Should -Be 'running' -Because "$n is a dependency" }
            foreach ($n in 'cl-webpack', 'cl-tailwind-reload', 'cl-webhook-sentry') { $states[$n] | Should -Be 'exited' }
        }

        It '`docker compose run --no-deps` leaves them stopped' {
            Invoke-StandIn $si -Arguments ($trapArgs + @('run', '--rm', '--no-deps', 'cl-bulk-data', 'true')) | Out-Null
            $states = Get-StandInStates $si
            foreach ($n in $nonEssential) { $states[$n] | Should -Be 'exited' }
        }

        It 'the runbook warns with the names of the services the import brought back' {
            Invoke-StandIn $si -Arguments ($trapArgs + @('start') + $nonEssential) | Out-Null
            $warnings = $null
            $result = & $Runbook @Common -ComposeFile $trapFiles -LogPath $log -WarningVariable warnings -ImportScript {
                param($ctx)
                & $ctx.DockerPath compose @($ctx.ComposeArguments) run --rm $ctx.BulkDataService /workspace/entrypoint-import.sh 2> $null | Out-Null
            } 6> $null
            $result.Succeeded | Should -BeTrue
            @($result.RestartedByRun | Sort-Object) | Should -Be @('cl-celery', 'cl-django', 'cl-es', 'cl-redis', 'cl-selenium')
            $warnings.Count | Should -Be 1
            "$($warnings[0])" | Should -Match 'running again: cl-celery, cl-django, cl-es, cl-redis, cl-selenium\.'
            "$($warnings[0])" | Should -Match '--no-deps'
            (Get-Content -Raw $log) | Should -Match 'running again: cl-celery, cl-django'
            # And afterwards everything stopped is running again.
            $states = Get-StandInStates $si
            foreach ($n in $nonEssential) { $states[$n] | Should -Be 'running' }
        }
    }

    It '-WhatIf shows every step and does nothing' {
        $script = "Import-Module '$ModulePath'; & '$Runbook' -Destination '$($Common.Destination)' -ComposeFile '$($cl.ComposeFile[0])','$($cl.ComposeFile[1])' -DockerPath '$($si.Docker)' -LogPath '$log' -WhatIf"
        $out = (& $PwshCommand[0] $PwshCommand[1] -NoLogo -NoProfile -NonInteractive -Command $script 2>&1) -join "`n"
        $LASTEXITCODE | Should -Be 0 -Because $out
        $out | Should -Match 'What if: Performing the operation "Check the disk space'
        $out | Should -Match 'What if: Performing the operation "Fetch the newest dump'
        foreach ($n in $nonEssential) { $out | Should -Match "What if: Performing the operation `"Stop`" on target `"service '$n'" }
        $out | Should -Not -Match "target `"service 'cl-postgresql'"
        $out | Should -Match 'What if: Performing the operation "Import: .* compose .* run --rm --no-deps -e BULKDATA_DB_PASSWORD cl-bulk-data /workspace/entrypoint-import.sh'
        $out | Should -Match 'What if: Performing the operation "Start again'
        Test-Path $log | Should -BeFalse
        @(Get-StandInCalls $si | Where-Object { $_ -contains 'stop' -or $_ -contains 'start' -or $_ -contains 'run' }).Count | Should -Be 0
        $states = Get-StandInStates $si
        foreach ($n in $nonEssential) { $states[$n] | Should -Be 'running' }
    }

    It 'stops nothing when the disk is too small for the dump' {
        $bucket = New-TestName 'runbook'
        $dump = Publish-TestDump -Bucket $bucket -OutDir (Join-Path $si.Root $bucket) -Extra @('--dockets', '10', '--words', '5')
        $common = $Common.Clone(); $common.Remove('SkipFetch')
        { & $Runbook @common -LogPath $log -ManifestParameters @{ EndpointUrl = $S3Endpoint; Bucket = $bucket } -ReserveBytes ([long]::MaxValue / 4) 6> $null } |
            Should -Throw -ExpectedMessage "*Not enough disk space at*Nothing was fetched or stopped*"
        @(Get-StandInCalls $si | Where-Object { $_ -contains 'stop' }).Count | Should -Be 0
        (Get-Content -Raw $log) | Should -Match 'Disk space'
    }

    It 'lists and fetches with -S3ProfileName: a profile with a wrong key fails the listing and stops nothing, the right one fetches' {
        $bucket = New-TestName 'runbook'
        $dump = Publish-TestDump -Bucket $bucket -OutDir (Join-Path $si.Root $bucket) -Extra @('--dockets', '5', '--words', '5')
        $credFile = Join-Path $si.Root "$bucket-credentials"
        "[good]`naws_access_key_id = S3RVER`naws_secret_access_key = S3RVER`n`n[wrong]`naws_access_key_id = NOTAKEYID`naws_secret_access_key = wrong-secret-$bucket`n" | Set-Content -Path $credFile
        $saved = $env:AWS_SHARED_CREDENTIALS_FILE
        $env:AWS_SHARED_CREDENTIALS_FILE = $credFile
        try {
            $common = $Common.Clone(); $common.Remove('SkipFetch')
            $common.Destination = Join-Path $si.Root "$bucket-fetched"
            $run = @{ ManifestParameters = @{ EndpointUrl = $S3Endpoint; Bucket = $bucket; Region = 'us-east-1' }; ImportScript = { } }
            $err = $null
            try { & $Runbook @common @run -LogPath $log -S3ProfileName wrong 6> $null } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty -Because 'the wrong key id is refused by the server, so the listing used the profile'
            "$err" | Should -Not -Match "wrong-secret-$bucket"
            (Get-Content -Raw $log) | Should -Not -Match "wrong-secret-$bucket"
            @(Get-StandInCalls $si | Where-Object { $_ -contains 'stop' }).Count | Should -Be 0

            $result = & $Runbook @common @run -LogPath "$log.2" -S3ProfileName good 6> $null
            $result.Succeeded | Should -BeTrue
            @($result.Files | Where-Object State -eq 'Downloaded').Count | Should -Be $dump.Files.Count
        } finally {
            $env:AWS_SHARED_CREDENTIALS_FILE = $saved
        }
    }

    It 'runs the whole plan in-process on real data: disk check, fetch, stop, import, verify, start again' {
        $bucket = New-TestName 'runbook'
        $dump = Publish-TestDump -Bucket $bucket -OutDir (Join-Path $si.Root $bucket) -Extra @('--dockets', '40', '--words', '20')
        $pg = Get-TestPgParts
        $database = 'runbook_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $dbCredential = [pscredential]::new($pg.Username, (ConvertTo-SecureString $pg.Password -AsPlainText -Force))
        $common = $Common.Clone(); $common.Remove('SkipFetch')
        $common.Destination = Join-Path $si.Root "$bucket-fetched"
        $common.DbCredential = $dbCredential

        $result = & $Runbook @common -LogPath $log -ImportMode InProcess -DbHost $pg.Host -DbPort $pg.Port -Database $database `
            -ManifestParameters @{ EndpointUrl = $S3Endpoint; Bucket = $bucket } 6> $null

        $result.Succeeded | Should -BeTrue
        @($result.Files | Where-Object State -eq 'Downloaded').Count | Should -Be $dump.Files.Count
        $imported = @($result.ImportResults | Where-Object { $_.PSObject.Properties['Status'] -and $_.Table -ne '(schema)' })
        @($imported | Where-Object Status -eq 'Imported').Count | Should -Be 8
        foreach ($f in $dump.Files | Where-Object Kind -eq 'Data') {
            ($imported | Where-Object { ($_.Table -replace '^public\.', '') -eq $f.Table }).Rows | Should -Be $f.Rows -Because $f.Table
        }
        @($result.ImportResults | Where-Object { $_.PSObject.Properties['Passed'] -and -not $_.Passed }).Count | Should -Be 0
        @($result.Stopped.Service | Sort-Object) | Should -Be $nonEssential
        @($result.Started.Service | Sort-Object) | Should -Be $nonEssential
        $states = Get-StandInStates $si
        foreach ($n in $nonEssential) { $states[$n] | Should -Be 'running' }
        (Get-Content -Raw $log) | Should -Not -Match ([regex]::Escape($pg.Password))
    }
    It 'keeps the services running with -Online: fetch the next dump, load beside the live tables, swap, verify' {
        $bucket = New-TestName 'runbook'
        $pg = Get-TestPgParts
        $database = 'runbook_' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $dbCredential = [pscredential]::new($pg.Username, (ConvertTo-SecureString $pg.Password -AsPlainText -Force))
        $common = $Common.Clone(); $common.Remove('SkipFetch')
        $common.DbCredential = $dbCredential
        $run = @{ ImportMode = 'InProcess'; DbHost = $pg.Host; DbPort = $pg.Port; Database = $database; ManifestParameters = @{ EndpointUrl = $S3Endpoint; Bucket = $bucket } }
        $null = Publish-TestDump -Bucket $bucket -OutDir (Join-Path $si.Root "$bucket-1") -Extra @('--dockets', '40', '--words', '20')
        $common.Destination = Join-Path $si.Root "$bucket-fetched-1"
        (& $Runbook @common @run -LogPath $log 6> $null).Succeeded | Should -BeTrue
        Reset-CourtListenerStandIn $setup
        $state = Get-Content -Raw $si.State | ConvertFrom-Json -AsHashtable; $state.runs = @(); $state | ConvertTo-Json -Depth 10 | Set-Content $si.State

        # The next quarter's dump, imported while the site runs.
        $next = Publish-TestDump -Bucket $bucket -OutDir (Join-Path $si.Root "$bucket-2") -Extra @('--dockets', '70', '--words', '20', '--date', '2026-12-31')
        $common.Destination = Join-Path $si.Root "$bucket-fetched-2"
        $result = & $Runbook @common @run -Online -LogPath $log -WarningAction SilentlyContinue 6> $null

        $result.Succeeded | Should -BeTrue
        $result.Stopped | Should -BeNullOrEmpty
        @(Get-StandInCalls $si | Where-Object { $_ -contains 'stop' }).Count | Should -Be 0
        foreach ($n in $nonEssential) { (Get-StandInStates $si)[$n] | Should -Be 'running' }
        $gen = @($result.ImportResults | Where-Object { $_ -is [BulkData.Engine.Import.BulkGeneration] })
        $gen.Count | Should -Be 1
        $gen[0].State | Should -Be 'Swapped'
        $imported = @($result.ImportResults | Where-Object { $_ -is [BulkData.Engine.Import.ImportResult] })
        foreach ($f in $next.Files | Where-Object Kind -eq 'Data') {
            ($imported | Where-Object { ($_.Table -replace '^public\.', '') -eq $f.Table }).Rows | Should -Be $f.Rows -Because $f.Table
        }
        @($result.ImportResults | Where-Object { $_.PSObject.Properties['Passed'] -and -not $_.Passed }).Count | Should -Be 0
        (Get-Content -Raw $log) | Should -Match 'Services keep running \(-Online\)'
    }
}
