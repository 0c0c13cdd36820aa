#!/bin/sh
# Fetches the newest CourtListener bulk-data dump into the volume: checks the disk space first, then
# Get-BulkManifest | Start-BulkFetch. Run it as
#   docker compose run --rm --no-deps cl-bulk-data /workspace/entrypoint-fetch.sh [options]
set -eu

usage() {
  cat <<'USAGE'
usage: entrypoint-fetch.sh [--destination DIR] [--throttle-limit N] [--extract] [--no-space-check]
                           [--endpoint URL] [--bucket NAME] [--prefix PREFIX]
  --destination DIR     where the files go (default: $BULKDATA_DESTINATION or /srv/bulk-data)
  --throttle-limit N    parallel downloads (default: Start-BulkFetch's own)
  --extract             expand the .bz2 files after download (needs about 5 times their size)
  --no-space-check      skip Test-BulkDiskSpace before fetching
  --endpoint, --bucket, --prefix   another S3 endpoint/bucket/prefix for Get-BulkManifest
USAGE
}

need() { [ "$2" -ge 2 ] || { echo "entrypoint-fetch.sh: $1 needs a value" >&2; exit 2; }; }

BULKDATA_DESTINATION=${BULKDATA_DESTINATION:-/srv/bulk-data}
BULKDATA_THROTTLE=""
BULKDATA_EXTRACT=0
BULKDATA_SPACE_CHECK=1
BULKDATA_ENDPOINT=""
BULKDATA_BUCKET=""
BULKDATA_PREFIX=""
while [ $# -gt 0 ]; do
  case "$1" in
    --destination) need "$1" $#; BULKDATA_DESTINATION=$2; shift 2 ;;
    --destination=*) BULKDATA_DESTINATION=${1#*=}; shift ;;
    --throttle-limit) need "$1" $#; BULKDATA_THROTTLE=$2; shift 2 ;;
    --throttle-limit=*) BULKDATA_THROTTLE=${1#*=}; shift ;;
    --extract) BULKDATA_EXTRACT=1; shift ;;
    --no-space-check) BULKDATA_SPACE_CHECK=0; shift ;;
    --endpoint) need "$1" $#; BULKDATA_ENDPOINT=$2; shift 2 ;;
    --bucket) need "$1" $#; BULKDATA_BUCKET=$2; shift 2 ;;
    --prefix) need "$1" $#; BULKDATA_PREFIX=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "entrypoint-fetch.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
export BULKDATA_DESTINATION BULKDATA_THROTTLE BULKDATA_EXTRACT BULKDATA_SPACE_CHECK BULKDATA_ENDPOINT BULKDATA_BUCKET BULKDATA_PREFIX

exec pwsh -NoLogo -NoProfile -NonInteractive -Command '
$ErrorActionPreference = "Stop"
Import-Module BulkData
$manifest = @{}
if ($env:BULKDATA_ENDPOINT) { $manifest.EndpointUrl = $env:BULKDATA_ENDPOINT }
if ($env:BULKDATA_BUCKET) { $manifest.Bucket = $env:BULKDATA_BUCKET }
if ($env:BULKDATA_PREFIX) { $manifest.Prefix = $env:BULKDATA_PREFIX }
$entries = @(Get-BulkManifest @manifest)
$extract = $env:BULKDATA_EXTRACT -eq "1"
if ($env:BULKDATA_SPACE_CHECK -eq "1") {
    $report = $entries | Test-BulkDiskSpace -Path $env:BULKDATA_DESTINATION -Extract:$extract
    $report | Format-List | Out-Host
    if (-not $report.IsSufficient) { throw "Not enough room in $($env:BULKDATA_DESTINATION): $($report.ShortfallBytes) more bytes are needed." }
}
$fetch = @{ Destination = $env:BULKDATA_DESTINATION; Extract = $extract }
if ($env:BULKDATA_THROTTLE) { $fetch.ThrottleLimit = [int]$env:BULKDATA_THROTTLE }
$entries | Start-BulkFetch @fetch
'
