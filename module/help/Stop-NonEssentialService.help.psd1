@{
    Name        = 'Stop-NonEssentialService'
    Synopsis    = 'Stops the services of a docker compose project that would fight a bulk import.'
    Description = @'
Lists the containers of a docker compose project with "docker compose ps --format json --all" (both the
one-object-per-line output of compose 2.21 and later and the JSON array of earlier versions are read) and
stops, with one "docker compose stop", every running service except those in -Keep (by default
cl-postgresql and cl-bulk-data), or exactly the services named with -Service. It then reads each service's
state back: a service still running is an error that names it and carries docker's standard error.

Writes one ServiceState (Project, Service, StateBefore, StateAfter) per service it stopped; pipe them to
Start-NonEssentialService to start exactly those again. Services that were not running are left alone and
not written. Honours -WhatIf and -Confirm (one confirmation per service).

The project options are passed to compose only when given, so compose's own defaults apply otherwise (the
compose file of the current location, the project name from the file or the folder).

Remember the compose trap: "docker compose run" starts a service's dependencies again. Run the bulk-data
service with "docker compose run --rm --no-deps cl-bulk-data ...".
'@
    Parameters  = @{
        WhatIf           = 'Lists the services that would be stopped, without stopping them.'
        Confirm          = 'Asks before stopping each service.'
        ProjectDirectory = 'The compose project directory (docker compose --project-directory). Default: compose''s own (the folder of the first compose file).'
        ComposeFile      = 'One or more compose files (docker compose -f), in order, e.g. docker-compose.yml and docker-compose.bulk-data.yml. Default: compose''s own (compose.yaml or docker-compose.yml in the current location).'
        ProjectName      = 'The compose project name (docker compose -p). Default: compose''s own (the file''s name: or the project folder''s name).'
        Keep             = 'Services to leave running. Default: cl-postgresql and cl-bulk-data. Pass @() to stop every running service.'
        Service          = 'Exactly the services to stop, instead of every running service but -Keep. Each must be a service of the project with a container; one not running is skipped.'
        DockerPath       = 'The docker program: a path, or a name looked up on PATH. Default: docker.'
        Timeout          = 'Seconds docker waits for a container to stop before killing it (docker compose stop --timeout). Default: compose''s own (10).'
    }
    Inputs      = @()
    Outputs     = @('BulkData.Engine.Services.ServiceState')
    Links       = @('about_BulkData', 'Start-NonEssentialService', 'Invoke-BulkImport', 'Invoke-BulkDataRunbook')
    Online      = 'README.md#stop-nonessentialservice'
    Examples    = @(
        @{
            Title   = 'Stop everything but the database and the bulk-data service'
            Code    = 'Stop-NonEssentialService -ProjectDirectory ~/courtlistener/docker/courtlistener -Confirm:$false'
            Remarks = 'Stops every running service of the project except cl-postgresql and cl-bulk-data, and writes what it stopped.'
        }
        @{
            Title   = 'Stop exactly the services the old plan stopped'
            Code    = 'Stop-NonEssentialService -Service cl-django, cl-celery, cl-webpack, cl-tailwind-reload, cl-selenium, cl-webhook-sentry, cl-es -ProjectDirectory ./docker/courtlistener'
            Remarks = 'Services of the list that are not running are skipped.'
        }
        @{
            Title   = 'See what would stop'
            Code    = 'Stop-NonEssentialService -ProjectDirectory ./docker/courtlistener -WhatIf'
            Remarks = 'Lists the services it would stop; stops nothing.'
        }
        @{
            Title   = 'Stop, import, start exactly those again'
            Code    = '$stopped = Stop-NonEssentialService -ProjectDirectory ./docker/courtlistener -Confirm:$false; try { docker compose -f ./docker/courtlistener/docker-compose.yml -f ./docker/courtlistener/docker-compose.bulk-data.yml run --rm --no-deps cl-bulk-data /workspace/entrypoint-import.sh --db-host cl-postgresql --db-user postgres } finally { $stopped | Start-NonEssentialService }'
            Remarks = 'The ServiceState objects carry the project, so Start-NonEssentialService finds the same project.'
        }
    )
}
