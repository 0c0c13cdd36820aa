# Run by Dependencies.Tests.ps1 in a PowerShell of its own: loads other versions of BulkData's dependencies
# (AWSSDK.Core/S3 3.7 as AWS.Tools carries, Npgsql 8) before or after the module, uses both against the real
# services, and prints one JSON line with what happened.
param(
    [Parameter(Mandatory)] [ValidateSet('Before', 'After')] [string] $Order,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string[]] $Assemblies,
    [Parameter(Mandatory)] [string] $S3Endpoint,
    [Parameter(Mandatory)] [string] $Bucket,
    [Parameter(Mandatory)] [string] $PgConnectionString,
    [Parameter(Mandatory)] [string] $Database,
    [Parameter(Mandatory)] [string] $Destination
)
$ErrorActionPreference = 'Stop'
$Assemblies = @($Assemblies -split ',')   # one comma-separated argument under -File
$ProgressPreference = 'SilentlyContinue'
$report = [ordered]@{ Order = $Order; Succeeded = $false; Error = $null; Steps = [System.Collections.Generic.List[string]]::new() }

function Add-Others {
    foreach ($a in $Assemblies) { Add-Type -Path $a }
    $report.Steps.Add('others loaded')
}

function Use-Others([string] $Label, [switch] $S3Only) {
    # AWSSDK.S3 3.7 lists the bucket on s3rver; Npgsql 8 reads the table BulkData imported.
    $config = [Amazon.S3.AmazonS3Config]::new()
    $config.ServiceURL = $S3Endpoint
    $config.ForcePathStyle = $true
    $client = [Amazon.S3.AmazonS3Client]::new([Amazon.Runtime.BasicAWSCredentials]::new('S3RVER', 'S3RVER'), $config)
    $request = [Amazon.S3.Model.ListObjectsV2Request]::new()
    $request.BucketName = $Bucket
    $request.Prefix = 'bulk-data/'
    $report["${Label}S3Keys"] = @($client.ListObjectsV2Async($request).GetAwaiter().GetResult().S3Objects).Count
    $report["${Label}AwsCore"] = [Amazon.Runtime.AmazonServiceClient].Assembly.GetName().Version.ToString()
    if ($S3Only) { $report.Steps.Add("others used ($Label, S3)"); return }
    $builder = [Npgsql.NpgsqlConnectionStringBuilder]::new($PgConnectionString)
    $builder.Database = $Database
    $conn = [Npgsql.NpgsqlConnection]::new($builder.ConnectionString)
    try {
        $conn.Open()
        $cmd = $conn.CreateCommand()
        $cmd.CommandText = 'SELECT count(*) FROM search_court'
        $report["${Label}Courts"] = [long]$cmd.ExecuteScalar()
        $report["${Label}Npgsql"] = [Npgsql.NpgsqlConnection].Assembly.GetName().Version.ToString()
    } finally { $conn.Dispose() }
    $report.Steps.Add("others used ($Label)")
}

function Use-BulkData([string] $Label) {
    $entries = @(Get-BulkManifest -EndpointUrl $S3Endpoint -Bucket $Bucket)
    $files = @($entries | Start-BulkFetch -Destination $Destination)
    $results = @($files | Invoke-BulkImport -ConnectionString $PgConnectionString -Database $Database -Force)
    $report["${Label}Entries"] = $entries.Count
    $report["${Label}FileStates"] = @($files.State | ForEach-Object { "$_" } | Sort-Object -Unique)
    $report["${Label}ImportStatuses"] = @($results | Where-Object { $_.PSObject.Properties['Status'] } | ForEach-Object { "$($_.Status)" } | Sort-Object -Unique)
    $report["${Label}CourtRows"] = [long](@($results | Where-Object { $_.PSObject.Properties['Table'] -and $_.Table -match '(^|\.)search_court$' })[0].Rows)
    $report.Steps.Add("bulkdata used ($Label)")
}

function Get-Loaded([string] $Name) {
    # Where each copy of an assembly lives: the default context (the session's) or BulkData's own.
    @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq $Name } | ForEach-Object {
            $context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_)
            '{0}={1}' -f $context.Name, $_.GetName().Version
        } | Sort-Object)
}

try {
    if ($Order -eq 'Before') {
        Add-Others
        Use-Others 'First' -S3Only
        Import-Module $ModulePath
        Use-BulkData 'First'
        Use-Others 'Second'
    } else {
        Import-Module $ModulePath
        Use-BulkData 'First'
        Add-Others
        Use-Others 'First'
        Use-BulkData 'Second'
    }
    $report.Succeeded = $true
} catch {
    $report.Succeeded = $false
    $report.Error = "$($_.Exception.GetType().FullName): $($_.Exception.Message)"
}
foreach ($name in 'AWSSDK.Core', 'AWSSDK.S3', 'Npgsql', 'BulkData.Engine', 'BulkData.Cmdlets') { $report["Loaded:$name"] = @(Get-Loaded $name) }
$report | ConvertTo-Json -Compress -Depth 4
