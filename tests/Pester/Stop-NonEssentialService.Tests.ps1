# Stop-NonEssentialService against the stand-in docker program (tests/BulkData.TestKit/DockerStandIn.cs),
# on a compose project shaped like CourtListener's docker/courtlistener with the bulk-data file added.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'DockerStandIn.ps1')
    $script:setup = Start-CourtListenerStandIn
    $script:si = $setup.StandIn
    $script:cl = $setup.Project
    $script:nonEssential = @('cl-celery', 'cl-django', 'cl-es', 'cl-redis', 'cl-selenium', 'cl-tailwind-reload', 'cl-webhook-sentry', 'cl-webpack')
}

AfterAll {
    Stop-CourtListenerStandIn $setup
}

Describe 'Stop-NonEssentialService' {
    BeforeEach {
        Reset-CourtListenerStandIn $setup
    }

    Context 'ps output of compose <Shape>' -ForEach @(@{ Shape = 'lines' }, @{ Shape = 'array' }) {
        It 'stops every running service but cl-postgresql and cl-bulk-data, and says what it stopped' {
            $env:BULKDATA_DOCKER_PS_FORMAT = $Shape
            $stopped = @(Stop-NonEssentialService -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -Confirm:$false)

            @($stopped.Service | Sort-Object) | Should -Be $nonEssential
            foreach ($s in $stopped) {
                $s | Should -BeOfType ([BulkData.Engine.Services.ServiceState])
                $s.Project | Should -Be 'courtlistener'
                $s.StateBefore | Should -Be 'running'
                $s.StateAfter | Should -Be 'exited'
                $s.Containers | Should -Be @("courtlistener-$($s.Service)-1")
                $s.ComposeFile | Should -Be $cl.ComposeFile
            }
            $states = Get-StandInStates $si
            $states['cl-postgresql'] | Should -Be 'running'
            foreach ($n in $nonEssential) { $states[$n] | Should -Be 'exited' -Because "$n is not essential" }
            # One stop for all of them, between a ps before and a ps after.
            $calls = Get-StandInCalls $si
            $stops = @($calls | Where-Object { $_ -contains 'stop' })
            $stops.Count | Should -Be 1
            @($stops[0][($stops[0].IndexOf('stop') + 1)..($stops[0].Count - 1)] | Sort-Object) | Should -Be $nonEssential
        }
    }

    It 'passes no project options when none are given, so compose finds the project from the current location' {
        Push-Location $cl.Directory
        try {
            $stopped = @(Stop-NonEssentialService -DockerPath $si.Docker -Confirm:$false)
        } finally { Pop-Location }
        # Only docker-compose.yml is found by default: the bulk-data file is not part of that project view.
        @($stopped.Service | Sort-Object) | Should -Be $nonEssential
        $calls = Get-StandInCalls $si
        ($calls[0] -join ' ') | Should -Be 'compose ps --format json --all'
    }

    It 'passes --project-directory and -p as given' {
        $stopped = @(Stop-NonEssentialService -ProjectDirectory $cl.Directory -ProjectName courtlistener -Service cl-es -DockerPath $si.Docker -Confirm:$false)
        $stopped.Service | Should -Be 'cl-es'
        $calls = Get-StandInCalls $si
        ($calls[0] -join ' ') | Should -Be "compose --project-directory $($cl.Directory) -p courtlistener ps --format json --all"
        ($calls[1] -join ' ') | Should -Be "compose --project-directory $($cl.Directory) -p courtlistener stop cl-es"
    }

    It '-Keep leaves the named services running' {
        $stopped = @(Stop-NonEssentialService -ComposeFile $cl.ComposeFile -Keep cl-postgresql, cl-redis, cl-es -DockerPath $si.Docker -Confirm:$false)
        @($stopped.Service | Sort-Object) | Should -Be @('cl-celery', 'cl-django', 'cl-selenium', 'cl-tailwind-reload', 'cl-webhook-sentry', 'cl-webpack')
        $states = Get-StandInStates $si
        $states['cl-redis'] | Should -Be 'running'
        $states['cl-es'] | Should -Be 'running'
        $states['cl-postgresql'] | Should -Be 'running'
        $states['cl-django'] | Should -Be 'exited'
    }

    It '-Service stops exactly those services, and skips one already stopped' {
        Set-StandInState $si -Service cl-webpack -State exited
        $stopped = @(Stop-NonEssentialService -Service cl-django, cl-celery, cl-webpack -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -Confirm:$false -Verbose 4>&1)
        $verbose = @($stopped | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $stopped = @($stopped | Where-Object { $_ -is [BulkData.Engine.Services.ServiceState] })
        @($stopped.Service | Sort-Object) | Should -Be @('cl-celery', 'cl-django')
        ($verbose.Message -join "`n") | Should -Match "Not stopping 'cl-webpack': already exited"
        $states = Get-StandInStates $si
        foreach ($n in 'cl-es', 'cl-redis', 'cl-selenium', 'cl-tailwind-reload', 'cl-webhook-sentry', 'cl-postgresql') { $states[$n] | Should -Be 'running' }
        $states['cl-django'] | Should -Be 'exited'
        $states['cl-celery'] | Should -Be 'exited'
    }

    It '-WhatIf stops nothing and writes nothing' {
        $out = @(Stop-NonEssentialService -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -WhatIf)
        $out.Count | Should -Be 0
        $states = Get-StandInStates $si
        foreach ($n in $nonEssential + 'cl-postgresql') { $states[$n] | Should -Be 'running' }
        @(Get-StandInCalls $si | Where-Object { $_ -contains 'stop' }).Count | Should -Be 0
    }

    It 'an unknown -Service is an error naming it, and nothing is stopped' {
        { Stop-NonEssentialService -Service cl-django, cl-nosuch -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*No such service*cl-nosuch*"
        (Get-StandInStates $si)['cl-django'] | Should -Be 'running'
    }

    It 'a missing docker program is a clear error' {
        $missing = Join-Path $si.Root 'no-such-bin/docker'
        $err = $null
        try { Stop-NonEssentialService -ComposeFile $cl.ComposeFile -DockerPath $missing -Confirm:$false -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.Exception.Message | Should -BeLike "*docker program '$missing' could not be started*-DockerPath*"
        $err.FullyQualifiedErrorId | Should -BeLike 'ExternalCommandFailed*'
    }

    It 'an unknown project is a clear error naming it' {
        { Stop-NonEssentialService -ProjectName nosuchproject -DockerPath $si.Docker -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*No containers were found for compose project 'nosuchproject'*"
    }

    It 'a folder without a compose file gives docker''s own message' {
        $empty = New-TestDirectory
        try {
            { Stop-NonEssentialService -ProjectDirectory $empty -DockerPath $si.Docker -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ExpectedMessage "*docker compose ps failed*exit code 14*no configuration file provided: not found*"
        } finally { Remove-Item -Recurse -Force $empty }
    }

    It 'a service that will not stop is an error naming it with docker''s message; the others are stopped and written' {
        $env:BULKDATA_DOCKER_UNSTOPPABLE = 'cl-es'
        $errs = $null
        $stopped = @(Stop-NonEssentialService -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable errs)
        @($stopped.Service | Sort-Object) | Should -Be @($nonEssential | Where-Object { $_ -ne 'cl-es' })
        $errs.Count | Should -Be 1
        $errs[0].Exception.Message | Should -BeLike "Service 'cl-es' of compose project 'courtlistener' did not stop: it is still running (docker compose stop failed with exit code 1:*cannot stop container: courtlistener-cl-es-1*"
        $errs[0].TargetObject | Should -Be 'cl-es'
        (Get-StandInStates $si)['cl-es'] | Should -Be 'running'
    }

    It 'formats ServiceState as a table' {
        $stopped = @(Stop-NonEssentialService -Service cl-es -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -Confirm:$false)
        $text = $stopped | Format-Table | Out-String -Width 200
        $text | Should -Match 'Service\s+StateBefore\s+StateAfter\s+Project\s+Containers'
        $text | Should -Match 'cl-es\s+running\s+exited\s+courtlistener\s+courtlistener-cl-es-1'
    }
}
