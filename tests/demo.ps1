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
$dump = & dotnet $TestKit publish --pg $Services.PgConnectionString --out $published --endpoint $Services.S3Endpoint --dockets 400 --words 120 --orphans search_citation.cluster_id=1 | ConvertFrom-Json
if ($LASTEXITCODE) { throw 'Publishing the sample dump failed.' }
Write-Host ("{0} files, {1:N0} rows in {2} tables" -f $dump.Files.Count, ($dump.Files | Measure-Object Rows -Sum).Sum, ($dump.Files | Where-Object Kind -eq 'Data').Count)

Write-Host "`n== Get-BulkManifest -EndpointUrl $($Services.S3Endpoint)" -ForegroundColor Cyan
$manifest = Get-BulkManifest -EndpointUrl $Services.S3Endpoint
$manifest | Format-Table -AutoSize | Out-String -Width 160 | Write-Host

Write-Host "== Get-BulkManifest | Test-BulkDiskSpace -Path $destination" -ForegroundColor Cyan
$manifest | Test-BulkDiskSpace -Path $destination | Out-Host

$credential = [pscredential]::new('postgres', (ConvertTo-SecureString $Services.PgPassword -AsPlainText -Force))
$db = @{ Host = '127.0.0.1'; Port = $Services.PgPort; Credential = $credential; Database = 'courtlistener' }

Write-Host "== Get-BulkManifest | Start-BulkFetch -Destination <dir> | Invoke-BulkImport -Database courtlistener" -ForegroundColor Cyan
$results = Get-BulkManifest -EndpointUrl $Services.S3Endpoint |
    Start-BulkFetch -Destination $destination |
    Invoke-BulkImport @db -WarningVariable schemaWarnings -WarningAction SilentlyContinue
$orphanWarnings = @($schemaWarnings | Where-Object { "$_" -match 'orphan row' })
Write-Host ("{0} statements of the dump's schema were skipped, as a real dump's are on another server (roles, settings, trigger functions, locale); -Verbose or the warnings name each with its line." -f ($schemaWarnings.Count - $orphanWarnings.Count))
$results | Format-Table -AutoSize | Out-String -Width 160 | Write-Host

Write-Host "== Orphans: the publisher exports table by table, so a dump has rows whose parent it lacks (this one has one)" -ForegroundColor Cyan
foreach ($w in $orphanWarnings) { Write-Host "WARNING: $w" -ForegroundColor Yellow }
$results | Where-Object { $_.PSObject.Properties['Orphans'] } | ForEach-Object Orphans |
    Format-Table Table, Constraint, Count, @{ n = 'SampleKeys'; e = { $_.SampleKeys -join ', ' } }, Validated -AutoSize | Out-String -Width 160 | Write-Host
Write-Host 'Every index and key was built; that foreign key is NOT VALID (it checks new rows). -RemoveOrphans deletes the orphan and validates it:'
$removed = Invoke-BulkImport @db -Path $destination -RemoveOrphans -WarningVariable removeWarnings -WarningAction SilentlyContinue
foreach ($w in $removeWarnings | Where-Object { "$_" -match 'orphan' }) { Write-Host "WARNING: $w" -ForegroundColor Yellow }
$removed | Where-Object { $_.PSObject.Properties['Orphans'] } | ForEach-Object Orphans |
    Format-Table Table, Constraint, Count, Removed, Validated -AutoSize | Out-String -Width 160 | Write-Host

Write-Host "== What was loaded, against what was published" -ForegroundColor Cyan
$published = @{}
foreach ($f in $dump.Files | Where-Object Kind -eq 'Data') { $published[$f.Table] = $f.Rows }
$results | Where-Object { $_.PSObject.Properties['Table'] -and $_.Table -ne '(schema)' } | Sort-Object Table | ForEach-Object {
    [pscustomobject]@{ Table = $_.Table; Published = $published[($_.Table -replace '^public\.', '')]; Loaded = $_.Rows; Status = $_.Status }
} | Format-Table -AutoSize | Out-String | Write-Host

Write-Host "== The same pipeline again: nothing is downloaded, nothing is reloaded" -ForegroundColor Cyan
Get-BulkManifest -EndpointUrl $Services.S3Endpoint | Start-BulkFetch -Destination $destination | Invoke-BulkImport @db |
    Group-Object Status | Format-Table Count, Name -AutoSize | Out-String | Write-Host
