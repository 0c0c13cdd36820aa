@{
    Name        = 'Start-NonEssentialService'
    Synopsis    = 'Starts again exactly the services Stop-NonEssentialService stopped, or those named.'
    Description = @'
Takes ServiceState objects from Stop-NonEssentialService through the pipeline (binding Service, Project,
ProjectDirectory and ComposeFile by property name), or service names with -Service, and starts exactly those
with one "docker compose start" per project, nothing else. Each must be a service of the project with a
container; one that is already running is left alone and not written. Afterwards each service's state is
read back: one that did not start is an error naming it, with docker's standard error.

Writes one ServiceState (Project, Service, StateBefore, StateAfter) per service it started. Honours -WhatIf
and -Confirm.
'@
    Parameters  = @{
        WhatIf           = 'Shows which services would be started, without starting them.'
        Confirm          = 'Asks before starting each service.'
        Service          = 'The services to start. Bound from the Service property of piped ServiceState objects.'
        ProjectName      = 'The compose project name (docker compose -p). Bound from the Project property of piped objects. Default: compose''s own.'
        ProjectDirectory = 'The compose project directory (docker compose --project-directory). Bound from piped objects. Default: compose''s own.'
        ComposeFile      = 'One or more compose files (docker compose -f). Bound from piped objects. Default: compose''s own.'
        DockerPath       = 'The docker program: a path, or a name looked up on PATH. Default: docker.'
    }
    Inputs      = @('BulkData.Engine.Services.ServiceState')
    Outputs     = @('BulkData.Engine.Services.ServiceState')
    Links       = @('about_BulkData', 'Stop-NonEssentialService', 'Invoke-BulkDataRunbook')
    Online      = 'README.md#start-nonessentialservice'
    Examples    = @(
        @{
            Title   = 'Start again what was stopped'
            Code    = '$stopped = Stop-NonEssentialService -ProjectDirectory ./docker/courtlistener -Confirm:$false; $stopped | Start-NonEssentialService'
            Remarks = 'Starts exactly the services in $stopped, in the same project.'
        }
        @{
            Title   = 'Start named services'
            Code    = 'Start-NonEssentialService -Service cl-django, cl-celery -ProjectDirectory ./docker/courtlistener'
            Remarks = 'Starts those two services if they are not running.'
        }
    )
}
