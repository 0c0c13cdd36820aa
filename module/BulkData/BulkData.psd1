@{
    RootModule           = 'BulkData.Cmdlets.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5d0f6c1e-8a57-4b8e-9f43-2f6b2b6a9c11'
    Author               = 'BulkData'
    CompanyName          = 'BulkData'
    Copyright            = '(c) BulkData contributors. MIT License.'
    Description          = 'Mirror a public bulk-data bucket (CourtListener''s first of all) into PostgreSQL: list, check disk space, fetch, expand, import.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @(
        'BulkData.Manifest.format.ps1xml'
        'BulkData.Transfer.format.ps1xml'
        'BulkData.Services.format.ps1xml'
        'BulkData.Import.format.ps1xml'
    )
    CmdletsToExport      = @(
        'Get-BulkManifest'
        'Test-BulkDiskSpace'
        'Stop-NonEssentialService'
        'Start-NonEssentialService'
        'Expand-BulkFile'
        'Start-BulkFetch'
        'Invoke-BulkImport'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('CourtListener', 'PostgreSQL', 'S3', 'bulk-data', 'bzip2')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
