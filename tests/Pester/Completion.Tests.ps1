# Tab completion (TabExpansion2, as the prompt does): -Dataset / -ExcludeDataset offer the publisher's dataset
# names; -Service / -Keep offer the compose project's services as the stand-in docker lists them, and nothing,
# quickly and without an error, when docker does not answer.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Join-Path $PSScriptRoot 'DockerStandIn.ps1')
    $script:setup = Start-CourtListenerStandIn
    $script:si = $setup.StandIn
    $script:cl = $setup.Project

    function Get-Completion([string] $Line) {
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object CompletionText)
    }
    $script:compose = "-ComposeFile '$($cl.ComposeFile[0])', '$($cl.ComposeFile[1])' -DockerPath '$($si.Docker)'"
}

AfterAll {
    Stop-CourtListenerStandIn $setup
}

Describe 'Completion of -Dataset and -ExcludeDataset' {
    It 'offers the datasets that start with what was typed' {
        Get-Completion 'Get-BulkManifest -Dataset opin' | Should -Be @('opinion-clusters', 'opinions')
        Get-Completion 'Get-BulkManifest -ExcludeDataset financial-disclosures-s' | Should -Be @('financial-disclosures-spousal-income')
        Get-Completion 'Get-BulkManifest -Dataset courts, sch' | Should -Be @('schema')
    }

    It 'offers every dataset of the catalog, the schema and the load script for an empty word' {
        $all = Get-Completion 'Get-BulkManifest -Dataset '
        foreach ($d in 'opinions', 'dockets', 'citation-map', 'people-db-races', 'financial-disclosures-gifts', 'schema', 'load-bulk-data') { $all | Should -Contain $d }
        $all.Count | Should -Be ([BulkData.Engine.Manifest.DatasetCatalog]::All.Count + 2)
    }

    It 'completes the positional -Dataset too' {
        Get-Completion 'Get-BulkManifest dock' | Should -Be @('dockets')
    }
}

Describe 'Completion of -Service and -Keep' {
    It 'Stop-NonEssentialService -Service offers the project''s services, with the command''s own compose parameters' {
        Get-Completion "Stop-NonEssentialService $compose -Service cl-d" | Should -Be @('cl-django')
        $all = Get-Completion "Stop-NonEssentialService $compose -Service "
        foreach ($s in 'cl-postgresql', 'cl-django', 'cl-celery', 'cl-es', 'cl-redis') { $all | Should -Contain $s }
    }

    It 'Stop-NonEssentialService -Keep, Start-NonEssentialService -Service and Invoke-BulkDataRunbook -Keep do the same' {
        Get-Completion "Stop-NonEssentialService $compose -Keep cl-post" | Should -Be @('cl-postgresql')
        Get-Completion "Start-NonEssentialService $compose -Service cl-ce" | Should -Be @('cl-celery')
        Get-Completion "Invoke-BulkDataRunbook $compose -Keep cl-post" | Should -Be @('cl-postgresql')
    }

    It 'offers nothing, within seconds and without an error, when docker does not answer' {
        $missing = Join-Path $si.Root 'no-such-docker'
        $elapsed = Measure-Command { $r = Get-Completion "Stop-NonEssentialService -ComposeFile '$($cl.ComposeFile[0])' -DockerPath '$missing' -Service cl-" }
        $r | Should -BeNullOrEmpty
        $elapsed.TotalSeconds | Should -BeLessThan 10
        # A project docker does not know: no containers, no completion.
        Get-Completion "Stop-NonEssentialService -ProjectName no-such-project -DockerPath '$($si.Docker)' -Service cl-" | Should -BeNullOrEmpty
    }
}
