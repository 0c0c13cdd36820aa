# Dot-sourced by the service suites (after Common.ps1): the stand-in docker program of the test kit
# (tests/BulkData.TestKit/DockerStandIn.cs), wrapped in a `docker` script in a temporary bin folder, and a
# compose project shaped like CourtListener's docker/courtlistener, with the bulk-data service added.
Set-StrictMode -Version Latest

function New-DockerStandIn {
    <# A temporary bin folder holding a `docker` script that runs the stand-in, and its state file. #>
    param([string] $Root = (New-TestDirectory))
    $bin = Join-Path $Root 'bin'
    New-Item -ItemType Directory -Force -Path $bin | Out-Null
    $docker = Join-Path $bin 'docker'
    $dotnet = (Get-Command dotnet -CommandType Application | Select-Object -First 1).Source
    Set-Content -Path $docker -Value "#!/bin/sh`nexec '$dotnet' '$($script:TestKit)' docker `"`$@`"`n" -NoNewline
    & chmod +x $docker
    [pscustomobject]@{
        Root   = $Root
        Docker = $docker
        State  = Join-Path $Root 'docker-state.json'
        Log    = Join-Path $Root 'docker-calls.jsonl'
    }
}

function Enter-DockerStandIn {
    <# Points the stand-in at this suite's state and call log (environment variables the child processes inherit). #>
    param($StandIn)
    $env:BULKDATA_DOCKER_STATE = $StandIn.State
    $env:BULKDATA_DOCKER_LOG = $StandIn.Log
    Remove-Item Env:BULKDATA_DOCKER_PS_FORMAT, Env:BULKDATA_DOCKER_UNSTOPPABLE, Env:BULKDATA_DOCKER_RUN_EXIT -ErrorAction SilentlyContinue
}

function Exit-DockerStandIn {
    Remove-Item Env:BULKDATA_DOCKER_STATE, Env:BULKDATA_DOCKER_LOG, Env:BULKDATA_DOCKER_PS_FORMAT, Env:BULKDATA_DOCKER_UNSTOPPABLE, Env:BULKDATA_DOCKER_RUN_EXIT -ErrorAction SilentlyContinue
}

# CourtListener's docker/courtlistener project as far as these tests need it: its services, their
# depends_on, the external network. (Trimmed from the real file's shape; images are not pulled.)
$script:CourtListenerCompose = @'
networks:
  cl_net_overlay:
    driver: bridge
    external: true
services:
  cl-redis:
    image: redis
    networks: [cl_net_overlay]
  cl-postgresql:
    image: postgres:15
    environment:
      POSTGRES_USER: postgres
      POSTGRES_DB: courtlistener
    networks: [cl_net_overlay]
  cl-es:
    image: elasticsearch:7.17.0
    networks: [cl_net_overlay]
  cl-selenium:
    image: selenium/standalone-chrome
    networks: [cl_net_overlay]
  cl-celery:
    image: freelawproject/courtlistener:latest-celery
    depends_on: [cl-postgresql, cl-redis]
    networks: [cl_net_overlay]
  cl-django:
    image: freelawproject/courtlistener:latest-web-dev
    depends_on: [cl-postgresql, cl-redis, cl-celery, cl-selenium, cl-es]
    networks: [cl_net_overlay]
  cl-webpack:
    image: node:20
    networks: [cl_net_overlay]
  cl-tailwind-reload:
    image: node:20
    networks: [cl_net_overlay]
  cl-webhook-sentry:
    image: freelawproject/webhook-sentry:latest
    networks: [cl_net_overlay]
'@

function New-CourtListenerProject {
    <#
    A folder docker/courtlistener (so compose's default project name is "courtlistener") with
    docker-compose.yml and a copy of this repository's docker-compose.bulk-data.yml; brought up with the
    stand-in's `docker compose up -d`. Returns the folder and the compose files.
    #>
    param($StandIn, [string] $BulkDataCompose = (Get-Content -Raw (Join-Path $script:RepoRoot 'docker/courtlistener/docker-compose.bulk-data.yml')))
    $dir = Join-Path $StandIn.Root 'courtlistener/docker/courtlistener'
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    Set-Content -Path (Join-Path $dir 'docker-compose.yml') -Value $script:CourtListenerCompose
    Set-Content -Path (Join-Path $dir 'docker-compose.bulk-data.yml') -Value $BulkDataCompose
    $files = @((Join-Path $dir 'docker-compose.yml'), (Join-Path $dir 'docker-compose.bulk-data.yml'))
    Invoke-StandIn $StandIn -Arguments (@('compose', '-f', $files[0], '-f', $files[1], 'up', '-d')) | Out-Null
    [pscustomobject]@{ Directory = $dir; ComposeFile = $files; Name = 'courtlistener' }
}

function Invoke-StandIn {
    <# Runs the stand-in docker with arguments; returns stdout lines, stderr in .Error, exit code in .ExitCode. #>
    param($StandIn, [string[]] $Arguments, [switch] $AllowFailure)
    $errFile = Join-Path $StandIn.Root 'last-stderr.txt'
    $out = & $StandIn.Docker @Arguments 2> $errFile
    $code = $LASTEXITCODE
    $err = Get-Content -Raw $errFile -ErrorAction SilentlyContinue
    if ($code -ne 0 -and -not $AllowFailure) { throw "stand-in docker $($Arguments -join ' ') failed ($code): $err" }
    [pscustomobject]@{ Output = @($out); Error = "$err"; ExitCode = $code }
}

function Get-StandInStates {
    <# The state of every service of a project in the stand-in's state file, as a hashtable service -> state. #>
    param($StandIn, [string] $Project = 'courtlistener')
    $state = Get-Content -Raw $StandIn.State | ConvertFrom-Json -AsHashtable
    $result = @{}
    foreach ($c in $state.projects[$Project].containers) { $result[$c.service] = $c.state }
    $result
}

function Set-StandInState {
    <# Sets services' container state directly in the stand-in's state file (to prepare a scenario). #>
    param($StandIn, [string[]] $Service, [string] $State, [string] $Project = 'courtlistener')
    $doc = Get-Content -Raw $StandIn.State | ConvertFrom-Json -AsHashtable
    foreach ($c in $doc.projects[$Project].containers) { if ($c.service -in $Service) { $c.state = $State } }
    $doc | ConvertTo-Json -Depth 10 | Set-Content $StandIn.State
}

function Get-StandInCalls {
    <# The docker invocations the stand-in saw, as argument arrays. #>
    param($StandIn)
    if (-not (Test-Path $StandIn.Log)) { return @() }
    @(Get-Content $StandIn.Log | ForEach-Object { , @(($_ | ConvertFrom-Json).args) })
}

function Get-StandInRuns {
    param($StandIn)
    $state = Get-Content -Raw $StandIn.State | ConvertFrom-Json
    @($state.runs)
}

function Reset-DockerStandIn {
    <# Before each test: no stand-in switches set, every service of the project up again, an empty call log. #>
    param($StandIn, $Project)
    Remove-Item Env:BULKDATA_DOCKER_PS_FORMAT, Env:BULKDATA_DOCKER_UNSTOPPABLE, Env:BULKDATA_DOCKER_RUN_EXIT -ErrorAction SilentlyContinue
    Invoke-StandIn $StandIn -Arguments (@('compose') + @($Project.ComposeFile | ForEach-Object { '-f', $_ }) + @('up', '-d')) | Out-Null
    Remove-Item $StandIn.Log -ErrorAction SilentlyContinue
}

function Remove-DockerStandIn {
    <# After a suite: the environment variables go, and the stand-in's folder with its state. #>
    param($StandIn)
    Exit-DockerStandIn
    Remove-Item -Recurse -Force $StandIn.Root -ErrorAction SilentlyContinue
}
