#!/bin/sh
# Imports the fetched dump into CourtListener's PostgreSQL: Invoke-BulkImport -Verify over the folder.
# Keeps the old plan's arguments. Run it as
#   docker compose run --rm --no-deps -e BULKDATA_DB_PASSWORD cl-bulk-data /workspace/entrypoint-import.sh \
#       --db-host cl-postgresql --db-user postgres
# The password comes from --db-password or, better (it stays off command lines), the BULKDATA_DB_PASSWORD
# environment variable. It is handed to PowerShell as a PSCredential and never printed.
set -eu

usage() {
  cat <<'USAGE'
usage: entrypoint-import.sh [--db-host HOST] [--db-port PORT] [--db-user USER] [--db-password PASSWORD]
                            [--db-name NAME] [--source DIR] [--no-verify]
  --db-host HOST        PostgreSQL host (default: cl-postgresql)
  --db-port PORT        PostgreSQL port (default: 5432)
  --db-user USER        PostgreSQL user (default: postgres)
  --db-password PASS    its password (default: $BULKDATA_DB_PASSWORD)
  --db-name NAME        the database (default: courtlistener)
  --source DIR          the fetched files (default: $BULKDATA_DESTINATION or /srv/bulk-data);
                        --destination is accepted as the same thing
  --no-verify           skip Invoke-BulkImport -Verify (row counts)
USAGE
}

need() { [ "$2" -ge 2 ] || { echo "entrypoint-import.sh: $1 needs a value" >&2; exit 2; }; }

BULKDATA_DB_HOST=cl-postgresql
BULKDATA_DB_PORT=5432
BULKDATA_DB_USER=postgres
BULKDATA_DB_NAME=courtlistener
BULKDATA_SOURCE_DIR=${BULKDATA_DESTINATION:-/srv/bulk-data}
BULKDATA_VERIFY=1
while [ $# -gt 0 ]; do
  case "$1" in
    --db-host) need "$1" $#; BULKDATA_DB_HOST=$2; shift 2 ;;
    --db-host=*) BULKDATA_DB_HOST=${1#*=}; shift ;;
    --db-port) need "$1" $#; BULKDATA_DB_PORT=$2; shift 2 ;;
    --db-port=*) BULKDATA_DB_PORT=${1#*=}; shift ;;
    --db-user) need "$1" $#; BULKDATA_DB_USER=$2; shift 2 ;;
    --db-user=*) BULKDATA_DB_USER=${1#*=}; shift ;;
    --db-password) need "$1" $#; BULKDATA_DB_PASSWORD=$2; export BULKDATA_DB_PASSWORD; shift 2 ;;
    --db-password=*) BULKDATA_DB_PASSWORD=${1#*=}; export BULKDATA_DB_PASSWORD; shift ;;
    --db-name) need "$1" $#; BULKDATA_DB_NAME=$2; shift 2 ;;
    --db-name=*) BULKDATA_DB_NAME=${1#*=}; shift ;;
    --source|--destination) need "$1" $#; BULKDATA_SOURCE_DIR=$2; shift 2 ;;
    --source=*|--destination=*) BULKDATA_SOURCE_DIR=${1#*=}; shift ;;
    --no-verify) BULKDATA_VERIFY=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "entrypoint-import.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$BULKDATA_DB_PORT" in
  ''|*[!0-9]*) echo "entrypoint-import.sh: --db-port must be a number" >&2; exit 2 ;;
esac
export BULKDATA_DB_HOST BULKDATA_DB_PORT BULKDATA_DB_USER BULKDATA_DB_NAME BULKDATA_SOURCE_DIR BULKDATA_VERIFY

exec pwsh -NoLogo -NoProfile -NonInteractive -Command '
$ErrorActionPreference = "Stop"
Import-Module BulkData
$credential = $null
if ($env:BULKDATA_DB_PASSWORD) {
    $secret = ConvertTo-SecureString -String $env:BULKDATA_DB_PASSWORD -AsPlainText -Force
    $credential = [pscredential]::new($env:BULKDATA_DB_USER, $secret)
} else {
    $credential = [pscredential]::new($env:BULKDATA_DB_USER, [securestring]::new())
}
Remove-Item Env:BULKDATA_DB_PASSWORD -ErrorAction SilentlyContinue
$import = @{
    Path       = $env:BULKDATA_SOURCE_DIR
    Host       = $env:BULKDATA_DB_HOST
    Port       = [int]$env:BULKDATA_DB_PORT
    Database   = $env:BULKDATA_DB_NAME
    Credential = $credential
    Verify     = $env:BULKDATA_VERIFY -eq "1"
}
Write-Host "Importing $($import.Path) into $($import.Database) on $($import.Host):$($import.Port) as $($env:BULKDATA_DB_USER)"
Invoke-BulkImport @import
'
