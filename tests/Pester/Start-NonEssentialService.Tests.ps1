# Start-NonEssentialService against the stand-in docker program: starts exactly what was stopped.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'DockerStandIn.ps1')
    $script:si = New-DockerStandIn
    Enter-DockerStandIn $script:si
    $script:cl = New-CourtListenerProject $script:si
}

AfterAll {
    Remove-DockerStandIn $script:si
}

Describe 'Start-NonEssentialService' {
    BeforeEach {
        Reset-DockerStandIn $si $cl
    }

    Context 'ps output of compose <Shape>' -ForEach @(@{ Shape = 'lines' }, @{ Shape = 'array' }) {
        It 'starts exactly the services piped from Stop-NonEssentialService, nothing else' {
            $env:BULKDATA_DOCKER_PS_FORMAT = $Shape
            $stopped = @(Stop-NonEssentialService -Keep cl-postgresql, cl-redis -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -Confirm:$false)
            $stopped.Count | Should -Be 7
            # Something else is stopped by hand meanwhile: it must stay stopped.
            Invoke-StandIn $si -Arguments @('compose', '-f', $cl.ComposeFile[0], 'stop', 'cl-redis') | Out-Null
            Remove-Item $si.Log

            $started = @($stopped | Start-NonEssentialService -DockerPath $si.Docker)

            @($started.Service | Sort-Object) | Should -Be @($stopped.Service | Sort-Object)
            foreach ($s in $started) {
                $s.Project | Should -Be 'courtlistener'
                $s.StateBefore | Should -Be 'exited'
                $s.StateAfter | Should -Be 'running'
            }
            $states = Get-StandInStates $si
            foreach ($n in $stopped.Service) { $states[$n] | Should -Be 'running' }
            $states['cl-redis'] | Should -Be 'exited'
            $states['cl-postgresql'] | Should -Be 'running'
            # The piped objects carried the project's compose files; one start for all of them.
            $starts = @(Get-StandInCalls $si | Where-Object { $_ -contains 'start' })
            $starts.Count | Should -Be 1
            ($starts[0] -join ' ') | Should -BeLike "compose -f $($cl.ComposeFile[0]) -f $($cl.ComposeFile[1]) -p courtlistener start *"
            @($starts[0][($starts[0].IndexOf('start') + 1)..($starts[0].Count - 1)] | Sort-Object) | Should -Be @($stopped.Service | Sort-Object)
        }
    }

    It '-Service starts the named services' {
        Invoke-StandIn $si -Arguments @('compose', '-f', $cl.ComposeFile[0], 'stop', 'cl-django', 'cl-es', 'cl-webpack') | Out-Null
        Push-Location $cl.Directory
        try {
            $started = @(Start-NonEssentialService -Service cl-django, cl-es -DockerPath $si.Docker)
        } finally { Pop-Location }
        @($started.Service | Sort-Object) | Should -Be @('cl-django', 'cl-es')
        $states = Get-StandInStates $si
        $states['cl-django'] | Should -Be 'running'
        $states['cl-es'] | Should -Be 'running'
        $states['cl-webpack'] | Should -Be 'exited'
    }

    It 'leaves a running service alone and writes nothing for it' {
        $out = @(Start-NonEssentialService -Service cl-postgresql -ComposeFile $cl.ComposeFile -DockerPath $si.Docker)
        $out.Count | Should -Be 0
        @(Get-StandInCalls $si | Where-Object { $_ -contains 'start' }).Count | Should -Be 0
    }

    It '-WhatIf starts nothing' {
        Invoke-StandIn $si -Arguments @('compose', '-f', $cl.ComposeFile[0], 'stop', 'cl-django') | Out-Null
        $out = @(Start-NonEssentialService -Service cl-django -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -WhatIf)
        $out.Count | Should -Be 0
        (Get-StandInStates $si)['cl-django'] | Should -Be 'exited'
        @(Get-StandInCalls $si | Where-Object { $_ -contains 'start' }).Count | Should -Be 0
    }

    It 'an unknown service is an error naming it; the known ones still start' {
        Invoke-StandIn $si -Arguments @('compose', '-f', $cl.ComposeFile[0], 'stop', 'cl-django') | Out-Null
        $errs = $null
        $started = @(Start-NonEssentialService -Service cl-django, cl-nosuch -ComposeFile $cl.ComposeFile -DockerPath $si.Docker -ErrorAction SilentlyContinue -ErrorVariable errs)
        $started.Service | Should -Be 'cl-django'
        $errs.Count | Should -Be 1
        $errs[0].Exception.Message | Should -BeLike '*No such service*cl-nosuch*'
        $errs[0].TargetObject | Should -Be 'cl-nosuch'
    }

    It 'a missing docker program is a clear error' {
        $missing = Join-Path $si.Root 'no-such-bin/docker'
        { Start-NonEssentialService -Service cl-django -ProjectName courtlistener -DockerPath $missing -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*docker program '$missing' could not be started*"
    }
}
