using System.Management.Automation;
using BulkData.Engine;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;

namespace BulkData.Cmdlets;

/// <summary>Lists a bulk-data bucket and emits the newest file of each dataset, largest first.</summary>
[Cmdlet(VerbsCommon.Get, "BulkManifest")]
[OutputType(typeof(ManifestEntry))]
public sealed class GetBulkManifestCommand : BulkCmdlet
{
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Bucket { get; set; } = BucketLocation.DefaultBucket;

    [Parameter]
    [AllowEmptyString]
    public string Prefix { get; set; } = BucketLocation.DefaultPrefix;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Region { get; set; } = BucketLocation.DefaultRegion;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? EndpointUrl { get; set; }

    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ProfileName { get; set; }

    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DatasetCompleter))]
    public string[]? Dataset { get; set; }

    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DatasetCompleter))]
    public string[]? ExcludeDataset { get; set; }

    [Parameter]
    public DateTime? AsOf { get; set; }

    [Parameter]
    public SwitchParameter AllVersions { get; set; }

    [Parameter]
    public SwitchParameter IncludeStub { get; set; }

    protected override void EndProcessing()
    {
        var location = new BucketLocation { Bucket = Bucket, Region = Region, EndpointUrl = EndpointUrl };
        var selection = new ManifestSelection
        {
            Include = Dataset ?? Array.Empty<string>(),
            Exclude = ExcludeDataset ?? Array.Empty<string>(),
            AsOf = AsOf,
            AllVersions = AllVersions.IsPresent,
            IncludeStub = IncludeStub.IsPresent,
        };

        var credentials = Credentials.Resolve(this, Credential, ProfileName, ProfileName);
        var result = RunEngine((reporter, _, ct) => ManifestService.GetAsync(location, Prefix, selection, credentials, reporter, ct), $"s3://{Bucket}/{Prefix}");

        foreach (var note in result.Notes)
        {
            WriteWarning(note);
        }

        if (result.Entries.Count == 0)
        {
            WriteError(new ErrorRecord(
                new BulkDataException(BulkErrorKind.EmptyListing, $"None of the {result.ObjectsListed} objects under 's3://{Bucket}/{Prefix}' matched the selection (Dataset, ExcludeDataset, AsOf)."),
                nameof(BulkErrorKind.EmptyListing), ErrorCategory.ObjectNotFound, $"s3://{Bucket}/{Prefix}"));
            return;
        }

        WriteObject(result.Entries, enumerateCollection: true);
    }
}
