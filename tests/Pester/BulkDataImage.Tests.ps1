# The docker/ files: the compose service validated by docker-compose (Debian's package) merged with a
# CourtListener-shaped base file, the Dockerfile's sources present in the repository it copies from, and
# the entrypoints' argument handling (run with the real PowerShell and the built module).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'DockerStandIn.ps1')
    $script:DockerDir = Join-Path $RepoRoot 'docker'
    $script:BulkCompose = Join-Path $DockerDir 'courtlistener/docker-compose.bulk-data.yml'
    $script:Dockerfile = Join-Path $DockerDir 'bulk-data/Dockerfile'
    $script:Work = New-TestDirectory
}

AfterAll {
    Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue
}

Describe 'docker/courtlistener/docker-compose.bulk-data.yml' {
    BeforeAll {
        $base = Join-Path $Work 'docker-compose.yml'
        Set-Content $base $script:CourtListenerCompose
        # Relative paths resolve from the project directory, CourtListener's docker/courtlistener: here,
        # this repository's docker/courtlistener, so ../.. is the repository root.
        $out = & docker-compose --project-directory (Join-Path $DockerDir 'courtlistener') -f $base -f $BulkCompose config 2>&1
        $script:ConfigExit = $LASTEXITCODE
        $script:ConfigText = $out -join "`n"
        $yaml = Join-Path $Work 'merged.yml'
        Set-Content $yaml $script:ConfigText
        $script:Merged = if ($ConfigExit -eq 0) { Invoke-TestKit yaml-to-json $yaml } else { $null }
    }

    It 'is valid for docker-compose config when merged with the project''s own file' {
        $ConfigExit | Should -Be 0 -Because $ConfigText
        $Merged.services.PSObject.Properties.Name | Should -Contain 'cl-bulk-data'
        $Merged.services.PSObject.Properties.Name | Should -Contain 'cl-django'
    }

    It 'adds cl-bulk-data depending on cl-postgresql only' {
        $deps = $Merged.services.'cl-bulk-data'.depends_on
        $names = if ($deps -is [array]) { @($deps) } else { @($deps.PSObject.Properties.Name) }
        $names | Should -Be @('cl-postgresql')
    }

    It 'builds from the repository root with docker/bulk-data/Dockerfile' {
        $build = $Merged.services.'cl-bulk-data'.build
        (Resolve-Path $build.context).Path | Should -Be (Resolve-Path $RepoRoot).Path
        $build.dockerfile | Should -Be 'docker/bulk-data/Dockerfile'
        Test-Path (Join-Path $build.context $build.dockerfile) | Should -BeTrue
    }

    It 'mounts /srv/bulk-data, joins CourtListener''s network and passes the password only by name' {
        $svc = $Merged.services.'cl-bulk-data'
        @($svc.volumes) -join ' ' | Should -Match '/srv/bulk-data:/srv/bulk-data'
        @($svc.networks.PSObject.Properties.Name) + @($svc.networks) | Should -Contain 'cl_net_overlay'
        # Only the variable's name is in the file: compose takes its value from the caller's environment.
        (Get-Content -Raw $BulkCompose) | Should -Not -Match 'BULKDATA_DB_PASSWORD\s*[=:]\s*\S'
    }

    It 'documents every run with --no-deps' {
        $runs = @(Select-String -Path $BulkCompose -Pattern 'compose .*run ' | ForEach-Object Line)
        $runs.Count | Should -BeGreaterThan 0
        foreach ($r in $runs) { $r | Should -Match 'run --rm --no-deps cl-bulk-data' }
    }
}

Describe 'docker/bulk-data/Dockerfile' {
    BeforeAll {
        $script:Lines = @(Get-Content $Dockerfile | Where-Object { $_ -notmatch '^\s*#' })
        $joined = ($Lines -join "`n") -replace '\\\n', ' '
        $script:Instructions = @($joined -split "`n" | Where-Object { $_.Trim() })
        $script:Ignored = @(Get-Content (Join-Path $RepoRoot '.dockerignore') | Where-Object { $_ -and $_ -notmatch '^\s*#' })
    }

    It 'copies only sources that exist in the repository (build context: its root) and are not in .dockerignore' {
        $copies = @($Instructions | Where-Object { $_ -match '^\s*COPY\s' -and $_ -notmatch '--from=' })
        $copies.Count | Should -BeGreaterThan 2
        foreach ($c in $copies) {
            $parts = @(($c -replace '^\s*COPY\s+', '') -split '\s+' | Where-Object { $_ -notmatch '^--' })
            foreach ($src in $parts[0..($parts.Count - 2)]) {
                Test-Path (Join-Path $RepoRoot $src) | Should -BeTrue -Because "COPY $src"
                foreach ($pattern in $Ignored) {
                    $src.TrimEnd('/') | Should -Not -BeLike $pattern.TrimEnd('/') -Because ".dockerignore must not drop $src"
                }
            }
        }
    }

    It 'builds the module from paths that exist' {
        $run = ($Instructions | Where-Object { $_ -match 'dotnet publish' }) -join ' '
        foreach ($path in 'src/BulkData.Cmdlets/BulkData.Cmdlets.csproj', 'tools/New-ModuleLayout.ps1', 'module/BulkData', 'module/help', 'tools/New-CmdletHelp.ps1') {
            $run | Should -Match ([regex]::Escape($path))
            Test-Path (Join-Path $RepoRoot $path) | Should -BeTrue -Because $path
        }
        Test-Path (Join-Path $RepoRoot 'module/BulkData/BulkData.psd1') | Should -BeTrue
        Test-Path (Join-Path $RepoRoot 'module/BulkData/BulkData.Runbook.psm1') | Should -BeTrue   # Invoke-BulkDataRunbook
    }

    It 'installs the module on PSModulePath, imports it by default, and copies both entrypoints to /workspace' {
        $text = $Instructions -join "`n"
        $text | Should -Match 'COPY --from=build /out/BulkData /usr/local/share/powershell/Modules/BulkData'
        $text | Should -Match 'profile\.ps1.*Import-Module BulkData'
        foreach ($e in 'entrypoint-fetch.sh', 'entrypoint-import.sh') {
            $text | Should -Match "docker/bulk-data/$e"
            Test-Path (Join-Path $DockerDir "bulk-data/$e") | Should -BeTrue
        }
        $text | Should -Match 'COPY docker/bulk-data/entrypoint-fetch.sh docker/bulk-data/entrypoint-import.sh /workspace/'
    }

    It 'has the base image as build arguments, a non-root user, the volume and the work folder' {
        $text = $Instructions -join "`n"
        $text | Should -Match 'ARG POWERSHELL_IMAGE=mcr\.microsoft\.com/powershell'
        $text | Should -Match 'ARG POWERSHELL_TAG='
        $text | Should -Match 'FROM \$\{POWERSHELL_IMAGE\}:\$\{POWERSHELL_TAG\}'
        $text | Should -Match 'FROM --platform=\$BUILDPLATFORM'
        $text | Should -Match '(?m)^USER bulkdata$'
        $text | Should -Match '(?m)^VOLUME /srv/bulk-data$'
        $text | Should -Match '(?m)^WORKDIR /workspace$'
    }
}

Describe 'docker/bulk-data entrypoints' {
    BeforeAll {
        # The real PowerShell of this test run, as `pwsh`, with the built module on PSModulePath (as in the image).
        $script:bin = Join-Path $Work 'bin'
        New-Item -ItemType Directory -Force $bin | Out-Null
        Set-Content (Join-Path $bin 'pwsh') "#!/bin/sh`nexec '$($PwshCommand[0])' '$($PwshCommand[1])' `"`$@`"`n"
        & chmod +x (Join-Path $bin 'pwsh')
        $script:modules = Join-Path $Work 'modules'
        New-Item -ItemType Directory -Force $modules | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $modules 'BulkData') -Target (Split-Path -Parent $ModulePath) | Out-Null

        function script:Invoke-Entrypoint([string] $Name, [string[]] $Arguments) {
            $env:PATH, $oldPath = "$bin$([IO.Path]::PathSeparator)$env:PATH", $env:PATH
            $oldModulePath = $env:PSModulePath
            $env:PSModulePath = $modules
            try {
                $out = & sh (Join-Path $DockerDir "bulk-data/$Name") @Arguments 2>&1
                [pscustomobject]@{ ExitCode = $LASTEXITCODE; Text = ($out -join "`n") }
            } finally {
                $env:PATH = $oldPath
                $env:PSModulePath = $oldModulePath
            }
        }
    }

    It 'entrypoint-import.sh rejects an unknown argument' {
        $r = Invoke-Entrypoint 'entrypoint-import.sh' @('--db-hots', 'x')
        $r.ExitCode | Should -Be 2
        $r.Text | Should -Match 'unknown argument: --db-hots'
    }

    It 'entrypoint-import.sh rejects a port that is not a number' {
        $r = Invoke-Entrypoint 'entrypoint-import.sh' @('--db-port', '54x2')
        $r.ExitCode | Should -Be 2
        $r.Text | Should -Match '--db-port must be a number'
    }

    It 'entrypoint-import.sh maps the old plan''s arguments onto Invoke-BulkImport and never prints the password' {
        $secret = 'pw-' + [guid]::NewGuid().ToString('N')
        $src = Join-Path $Work 'empty-dump'
        New-Item -ItemType Directory -Force $src | Out-Null
        # Port 9 on loopback: nothing listens, so the import fails, after the arguments were mapped.
        $r = Invoke-Entrypoint 'entrypoint-import.sh' @('--db-host', '127.0.0.1', '--db-port', '9', '--db-user', 'cl_user', '--db-password', $secret, '--db-name', 'cl_db', '--source', $src)
        $r.ExitCode | Should -Not -Be 0
        $r.Text | Should -Match ([regex]::Escape("Importing $src into cl_db on 127.0.0.1:9 as cl_user"))
        $r.Text | Should -Not -Match $secret
    }

    It 'entrypoint-fetch.sh rejects an unknown argument and documents its options' {
        $r = Invoke-Entrypoint 'entrypoint-fetch.sh' @('--destnation', '/x')
        $r.ExitCode | Should -Be 2
        $r.Text | Should -Match 'unknown argument: --destnation'
        (Invoke-Entrypoint 'entrypoint-fetch.sh' @('--help')).Text | Should -Match '--throttle-limit'
    }
}
