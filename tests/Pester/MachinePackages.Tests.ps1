# The fresh-machine step (tools/MachinePackages.psm1, run by build.ps1 test/demo/bench): with stand-in apt-get,
# sudo and id on a PATH that holds none of the tools, it asks for exactly the missing packages of the one list,
# as root directly and as another user through sudo. And .ci/run runs the README's test command, nothing else.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Import-Module (Join-Path $RepoRoot 'tools/MachinePackages.psm1') -Force
    $script:List = @(Get-MachinePackageList)
    $script:work = New-TestDirectory

    function New-StandIn {
        # A bin folder with stand-ins only; their own tools are called by absolute path. apt-get "installs" a
        # package by running provides/<package>, which creates what the list says the package provides.
        $root = Join-Path $work ([guid]::NewGuid().ToString('N').Substring(0, 8))
        $bin = Join-Path $root 'bin'; $provides = Join-Path $root 'provides'; $fs = Join-Path $root 'fs'
        New-Item -ItemType Directory -Force -Path $bin, $provides, $fs | Out-Null
        Set-Content (Join-Path $bin 'apt-get') @'
#!/bin/sh
printf '%s\n' "apt-get uid=$STANDIN_UID frontend=${DEBIAN_FRONTEND:-} $*" >> "$STANDIN_LOG"
[ -n "${STANDIN_APT_EXIT:-}" ] && exit "$STANDIN_APT_EXIT"
[ "$1" = "install" ] || exit 0
for a in "$@"; do
  [ -f "$STANDIN_PROVIDES/$a" ] && . "$STANDIN_PROVIDES/$a"
done
exit 0
'@
        Set-Content (Join-Path $bin 'sudo') @'
#!/bin/sh
printf '%s\n' "sudo $*" >> "$STANDIN_LOG"
while :; do case "$1" in *=*) export "$1"; shift;; *) break;; esac; done
STANDIN_UID=0 exec "$@"
'@
        Set-Content (Join-Path $bin 'id') @'
#!/bin/sh
[ "$1" = "-u" ] && printf '%s\n' "$STANDIN_UID"
'@
        foreach ($p in $List) {
            $target = if ($p.Command) { Join-Path $bin $p.Command } else { $fs + $p.Path }
            Set-Content (Join-Path $provides $p.Package) "/bin/mkdir -p '$(Split-Path $target)'; printf '#!/bin/sh\n' > '$target'; /bin/chmod +x '$target'"
        }
        & /bin/chmod +x (Join-Path $bin 'apt-get') (Join-Path $bin 'sudo') (Join-Path $bin 'id')
        [pscustomobject]@{ Bin = $bin; Fs = $fs; Log = Join-Path $root 'calls.log'; Provides = $provides }
    }

    function Invoke-Install($standIn, [string] $Uid, [switch] $NoSudo, [hashtable] $Environment = @{}) {
        if ($NoSudo) { Remove-Item (Join-Path $standIn.Bin 'sudo') }
        $saved = @{ PATH = $env:PATH; STANDIN_UID = $env:STANDIN_UID; STANDIN_LOG = $env:STANDIN_LOG; STANDIN_PROVIDES = $env:STANDIN_PROVIDES; STANDIN_APT_EXIT = $env:STANDIN_APT_EXIT }
        $env:PATH = $standIn.Bin; $env:STANDIN_UID = $Uid; $env:STANDIN_LOG = $standIn.Log; $env:STANDIN_PROVIDES = $standIn.Provides
        foreach ($k in $Environment.Keys) { Set-Item "Env:$k" $Environment[$k] }
        try {
            Install-MachinePackage -FileSystemRoot $standIn.Fs 6> $null
        } finally {
            foreach ($k in $saved.Keys) { if ($null -eq $saved[$k]) { Remove-Item "Env:$k" -ErrorAction SilentlyContinue } else { Set-Item "Env:$k" $saved[$k] } }
        }
    }

    function Get-Calls($standIn) { if (Test-Path $standIn.Log) { @(Get-Content $standIn.Log) } else { @() } }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'The machine packages' {
    It 'are one list that holds what a fresh machine lacks (lbzip2, pbzip2, rclone, docker-compose, GNU time)' {
        foreach ($p in 'lbzip2', 'pbzip2', 'rclone', 'docker-compose', 'time', 'postgresql-15', 'nodejs') { $List.Package | Should -Contain $p }
        # No second list: build.ps1 and .ci/run name no package themselves.
        $build = Get-Content -Raw (Join-Path $RepoRoot 'build.ps1')
        $build | Should -Not -Match 'apt-get'
        $build | Should -Match 'tools/MachinePackages\.psm1'
        foreach ($p in 'lbzip2', 'pbzip2', 'rclone', 'docker-compose') { $build | Should -Not -Match "'$p'" }
    }

    It 'as root: apt-get update, then apt-get install of exactly the whole list, without sudo' {
        $si = New-StandIn
        Invoke-Install $si -Uid 0
        Get-Calls $si | Should -Be @(
            'apt-get uid=0 frontend=noninteractive update -qq'
            "apt-get uid=0 frontend=noninteractive install -y -qq --no-install-recommends $($List.Package -join ' ')")
        @(Get-MissingMachinePackage -FileSystemRoot $si.Fs) | Should -BeNullOrEmpty -Because 'the stand-in installed what was asked'
    }

    It 'as another user: the same two commands through sudo, DEBIAN_FRONTEND passed to sudo' {
        $si = New-StandIn
        Invoke-Install $si -Uid 1000
        Get-Calls $si | Should -Be @(
            'sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq'
            'apt-get uid=0 frontend=noninteractive update -qq'
            "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $($List.Package -join ' ')"
            "apt-get uid=0 frontend=noninteractive install -y -qq --no-install-recommends $($List.Package -join ' ')")
    }

    It 'asks only for what is missing, and for nothing (not even update) when nothing is' {
        $si = New-StandIn
        # lbzip2 and psql are on PATH, the PostgreSQL 15 server's initdb is on disk.
        foreach ($p in 'lbzip2', 'postgresql-client', 'postgresql-15') { & /bin/sh (Join-Path $si.Provides $p) }
        Invoke-Install $si -Uid 0
        $expected = @($List.Package | Where-Object { $_ -notin 'lbzip2', 'postgresql-client', 'postgresql-15' })
        (Get-Calls $si)[-1] | Should -Be "apt-get uid=0 frontend=noninteractive install -y -qq --no-install-recommends $($expected -join ' ')"
        Remove-Item $si.Log
        Invoke-Install $si -Uid 0
        Get-Calls $si | Should -BeNullOrEmpty
    }

    It 'fails clearly, naming the packages, when not root and sudo is missing, and calls nothing' {
        $si = New-StandIn
        { Invoke-Install $si -Uid 1000 -NoSudo } | Should -Throw -ExpectedMessage '*Missing packages: lbzip2, bzip2*Not root and sudo is not installed*'
        Get-Calls $si | Should -BeNullOrEmpty
    }

    It 'fails when apt-get fails, naming the command' {
        $si = New-StandIn
        { Invoke-Install $si -Uid 0 -Environment @{ STANDIN_APT_EXIT = '100' } } | Should -Throw -ExpectedMessage '*apt-get update -qq failed with exit code 100*'
    }
}

Describe '.ci/run' {
    It 'runs the README''s test command and nothing else (no package install of its own)' {
        $readme = Get-Content (Join-Path $RepoRoot 'README.md')
        $readmeCommand = @($readme | Where-Object { $_ -match '^dotnet .*build\.ps1 test\b' } | ForEach-Object { ($_ -replace '#.*$', '').Trim() })
        $readmeCommand | Should -HaveCount 1
        $ci = @(Get-Content (Join-Path $RepoRoot '.ci/run') | Where-Object { $_.Trim() -and $_ -notmatch '^\s*#' })
        $ci[-1].Trim() | Should -Be $readmeCommand[0]
        # Besides the command: only the shell's options, the folder and dotnet's own environment.
        foreach ($line in $ci[0..($ci.Count - 2)]) { $line | Should -Match '^(set -euo pipefail|cd "\$\(dirname "\$0"\)/\.\."|export (DOTNET_\w+=\S+ ?|NO_COLOR=1 ?)+)$' }
        ($ci -join "`n") | Should -Not -Match 'apt-get|install'
    }
}
