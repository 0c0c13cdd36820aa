@{
    Name        = 'Invoke-BulkDataRunbook'
    Synopsis    = 'Runs the whole bulk-data plan: check disk space, fetch, stop the non-essential services, import, verify, and start the services again (also after a failure), with a transcript.'
    Description = @'
The operations plan of BulkData as one command, for cron, CI or a person at a prompt. Each step is behind
ShouldProcess, so -WhatIf shows every step and does none of them (the service step lists the services it
would stop).

1. Disk space: Get-BulkManifest | Test-BulkDiskSpace -Path <Destination>; the run stops here, before anything
is fetched or stopped, when the disk is short. 2. Fetch: Get-BulkManifest | Start-BulkFetch -Destination
<Destination>. -SkipFetch skips both (the files are already there). 3. Stop: Stop-NonEssentialService, every
running service of the compose project but -Keep (cl-postgresql, cl-bulk-data), or exactly -Service; if a
service will not stop, the import does not run. 4. Import: -ImportMode Container (the default) runs docker
compose run --rm --no-deps <BulkDataService> /workspace/entrypoint-import.sh (the password goes in through the
BULKDATA_DB_PASSWORD environment variable, never on a command line); -ImportMode InProcess runs
Invoke-BulkImport -Path <Destination> -Verify in this session; -ImportScript replaces the step with your own
script block. 5. Verify: a failed table or a -Verify finding (orphans, duplicate keys) fails the run.
6. Start: Start-NonEssentialService with exactly what step 3 stopped, in a finally block, so it runs after a
failure too. 7. The compose trap: after a successful run, a warning names any service of step 3 that
Start-NonEssentialService did not have to start because it was running again (docker compose run without
--no-deps starts a service's dependencies).

Everything is written to a transcript (-LogPath). The command returns one BulkData.RunbookResult with
Succeeded, WhatIf, LogPath, DiskSpace, Files, Stopped, ImportResults, RestartedByRun and Started; a failed
step throws after the services were started again.
'@
    Parameters  = @{
        Destination        = 'Where the dump is fetched to (on this machine); the bulk-data container sees it as -ContainerSource.'
        LogPath            = 'The transcript. Default: <Destination>/logs/bulk-data-runbook-<UTC time>.log.'
        ProjectDirectory   = 'The compose project directory (docker compose --project-directory), e.g. CourtListener''s docker/courtlistener. Default: compose''s own.'
        ComposeFile        = 'The compose files (docker compose -f), e.g. docker-compose.yml, docker-compose.bulk-data.yml; relative to -ProjectDirectory when given. Default: compose''s own.'
        ProjectName        = 'The compose project name (docker compose -p). Default: compose''s own.'
        Keep               = 'Services left running while the import runs. Default: Stop-NonEssentialService''s (cl-postgresql, cl-bulk-data).'
        Service            = 'Exactly the services to stop, instead of every running one but -Keep.'
        DockerPath         = 'The docker program.'
        ImportMode         = 'Where the import runs: Container (docker compose run --rm --no-deps in the bulk-data service) or InProcess (Invoke-BulkImport in this session).'
        BulkDataService    = 'The compose service that runs the import in Container mode.'
        ContainerSource    = 'The dump folder as the container sees it (its volume).'
        DbHost             = 'The PostgreSQL host, as the import sees it (the compose service name in Container mode).'
        DbPort             = 'The PostgreSQL port.'
        Database           = 'The database to import into.'
        DbCredential       = 'The PostgreSQL user and password. In Container mode the password reaches the container through the BULKDATA_DB_PASSWORD environment variable only.'
        ImportScript       = 'Replaces the import step; called with one argument, the run''s context (Destination, DockerPath, ComposeArguments, BulkDataService, Stopped, Files). It must throw to fail the run.'
        ManifestParameters = 'Passed to Get-BulkManifest, e.g. @{ EndpointUrl = ''http://127.0.0.1:4568''; Bucket = ''bulk'' }.'
        ThrottleLimit      = 'Parallel downloads (Start-BulkFetch -ThrottleLimit). Default: Start-BulkFetch''s own.'
        Extract            = 'Expands the .bz2 files after download (Start-BulkFetch -Extract); the disk check counts their expanded size.'
        S3Credential       = 'S3 credentials for the listing and the fetch (Get-BulkManifest and Start-BulkFetch -Credential), unless -ManifestParameters gives the listing its own. Default: anonymous, or what the AWS_* variables name.'
        S3ProfileName      = 'A profile of the shared AWS credentials file (~/.aws/credentials) for the listing and the fetch (Get-BulkManifest and Start-BulkFetch -ProfileName), unless -ManifestParameters gives the listing its own.'
        ReserveBytes       = 'Bytes to keep free beyond what the dump needs.'
        SkipFetch          = 'Skips the disk-space check and the fetch (the files are already in -Destination).'
        NoVerify           = 'Does not ask the import to verify row counts.'
        Online             = 'Keeps the services running: no Stop-NonEssentialService; the import is Invoke-BulkImport -Online (loaded beside the live tables, swapped in at once; readers never wait for the load). Changes written to the tables during the load are lost. Runs the import in this session (Invoke-BulkImport), not in the container.'
        KeepPrevious       = 'With -Online: keeps the previous generation of the tables for Undo-BulkImport.'
        WhatIf             = 'Shows every step of the run without doing any of them.'
        Confirm            = 'Asks before each step.'
    }
    Inputs      = @('None')
    Outputs     = @('BulkData.RunbookResult')
    Links       = @('about_BulkData', 'Stop-NonEssentialService', 'Start-NonEssentialService', 'Start-BulkFetch', 'Invoke-BulkImport')
    Online      = 'README.md#invoke-bulkdatarunbook'
    Examples    = @(
        @{
            Title   = 'What a refresh that keeps the site up would do'
            Code    = 'Invoke-BulkDataRunbook -Destination /srv/bulk-data -Online -KeepPrevious -WhatIf'
            Remarks = 'Shows the disk check, the fetch and the -Online import (in this session): no service is stopped. Undo-BulkImport brings the previous tables back if the new dump misbehaves.'
        }
        @{
            Title   = 'What a run would do'
            Code    = 'Invoke-BulkDataRunbook -Destination /srv/bulk-data -ProjectDirectory ~/courtlistener/docker/courtlistener -ComposeFile docker-compose.yml, docker-compose.bulk-data.yml -WhatIf'
            Remarks = 'Shows every step (disk check, fetch, the services it would stop, the import command, the restart) without doing any of them.'
        }
        @{
            Title   = 'Around an import of your own, with the files already fetched'
            Code    = 'Invoke-BulkDataRunbook -Destination /srv/bulk-data -SkipFetch -ProjectDirectory ~/courtlistener/docker/courtlistener -ComposeFile docker-compose.yml, docker-compose.bulk-data.yml -Service cl-celery, cl-django -ImportScript { param($run) Write-Host "importing $($run.Destination) while $($run.Stopped.Service -join '', '') are stopped" } -Confirm:$false'
            Remarks = 'Stops exactly cl-celery and cl-django, runs the script block, checks the compose trap and starts the two again.'
        }
        @{
            Title   = 'The whole run, in the bulk-data container'
            Code    = 'Invoke-BulkDataRunbook -ProjectDirectory ~/courtlistener/docker/courtlistener -ComposeFile docker-compose.yml, docker-compose.bulk-data.yml -DbCredential (Get-Credential postgres) -Confirm:$false'
            Remarks = 'Fetches the newest dump into /srv/bulk-data, stops every service but cl-postgresql and cl-bulk-data, imports with docker compose run --rm --no-deps cl-bulk-data, verifies and starts the services again.'
            Runnable = $false
            Reason   = 'Fetches the whole newest dump from the public bucket and asks for a password.'
        }
    )
}
