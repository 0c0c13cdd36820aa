# The module manifest, and the one source of the version and the project's address: Directory.Build.props
# reads ModuleVersion for the assemblies, build.ps1 names the package after it, the help's online URIs are
# built from ProjectUri, and the build fills LicenseUri (ProjectUri/blob/main/LICENSE) and ReleaseNotes
# (this version's section of CHANGELOG.md).
@{
    RootModule           = 'BulkData.Cmdlets.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5d0f6c1e-8a57-4b8e-9f43-2f6b2b6a9c11'
    Author               = 'The BulkData authors'
    CompanyName          = 'The BulkData authors'
    Copyright            = '(c) The BulkData authors. MIT License.'
    Description          = 'Mirror a public bulk-data bucket (CourtListener''s first of all) into PostgreSQL: list, check disk space, fetch, expand, import.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    NestedModules        = @('BulkData.Runbook.psm1')
    FormatsToProcess     = @(
        'BulkData.Manifest.format.ps1xml'
        'BulkData.Transfer.format.ps1xml'
        'BulkData.Services.format.ps1xml'
        'BulkData.Import.format.ps1xml'
        'BulkData.Runbook.format.ps1xml'
    )
    CmdletsToExport      = @(
        'Get-BulkManifest'
        'Test-BulkDiskSpace'
        'Stop-NonEssentialService'
        'Start-NonEssentialService'
        'Expand-BulkFile'
        'Start-BulkFetch'
        'Invoke-BulkImport'
        'Undo-BulkImport'
    )
    FunctionsToExport    = @('Invoke-BulkDataRunbook')
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('CourtListener', 'PostgreSQL', 'S3', 'bulk-data', 'bzip2', 'Linux', 'PSEdition_Core')
            ProjectUri   = 'https://github.com/bulkdata/BulkData'
            LicenseUri   = ''   # the build writes ProjectUri/blob/main/LICENSE
            ReleaseNotes = ''
        }
    }
}
