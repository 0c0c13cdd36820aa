<#
.SYNOPSIS
The main job on a local sample: publish a CourtListener-shaped dump to a local S3 server, then list it and
check disk space for it, as a user would against the real bucket.
Run by `dotnet pwsh ./build.ps1 demo`, which starts the services and stops them afterwards.
#>
param(
    [Parameter(Mandatory)] $Services,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestKit
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force

$work = Join-Path $Services.Root 'demo'
$published = Join-Path $work 'published'
$destination = Join-Path $work 'srv/bulk-data'

Write-Host "`n== Publishing a sample dump to $($Services.S3Endpoint) (s3://com-courtlistener-storage/bulk-data/)" -ForegroundColor Cyan
$dump = & dotnet $TestKit publish --pg $Services.PgConnectionString --out $published --endpoint $Services.S3Endpoint --dockets 400 --words 120 | ConvertFrom-Json
if ($LASTEXITCODE) { throw 'Publishing the sample dump failed.' }
Write-Host ("{0} files, {1:N0} rows in {2} tables" -f $dump.Files.Count, ($dump.Files | Measure-Object Rows -Sum).Sum, ($dump.Files | Where-Object Kind -eq 'Data').Count)

Write-Host "`n== Get-BulkManifest -EndpointUrl $($Services.S3Endpoint)" -ForegroundColor Cyan
$manifest = Get-BulkManifest -EndpointUrl $Services.S3Endpoint
$manifest | Format-Table -AutoSize | Out-String -Width 160 | Write-Host

Write-Host "== Get-BulkManifest | Test-BulkDiskSpace -Path $destination" -ForegroundColor Cyan
$manifest | Test-BulkDiskSpace -Path $destination | Out-Host

Write-Host "== Get-BulkManifest | Start-BulkFetch -Destination $destination" -ForegroundColor Cyan
$fetched = $manifest | Start-BulkFetch -Destination $destination
$fetched | Format-Table -AutoSize | Out-String -Width 160 | Write-Host

Write-Host "== The same again: every file is already complete, nothing is downloaded" -ForegroundColor Cyan
$manifest | Start-BulkFetch -Destination $destination | Group-Object State | Format-Table Count, Name -AutoSize | Out-String | Write-Host
