using BulkData.Engine.Storage;

namespace BulkData.Engine.Manifest;

/// <summary>Lists a bucket and chooses its files: the whole of Get-BulkManifest.</summary>
public static class ManifestService
{
    public static async Task<ManifestResult> GetAsync(BucketLocation location, string prefix, ManifestSelection selection, S3Credentials? credentials, IBulkReporter reporter, CancellationToken cancellationToken)
    {
        using var s3 = S3ClientFactory.Create(location, credentials);
        var lister = new BucketLister(s3, location);
        string where = location.EndpointUrl ?? location.Region;
        lister.PageListed += (page, count) =>
        {
            reporter.Verbose($"Listed page {page} of s3://{location.Bucket}/{prefix} ({where}): {count} keys so far.");
            reporter.Progress(new ProgressUpdate(1, $"Listing s3://{location.Bucket}/{prefix}", $"{count} keys, page {page}"));
        };

        var objects = await lister.ListAsync(prefix, cancellationToken).ConfigureAwait(false);
        reporter.Progress(new ProgressUpdate(1, $"Listing s3://{location.Bucket}/{prefix}", "Done", Completed: true));
        var result = ManifestSelector.Select(objects, location, selection);
        reporter.Verbose($"{result.ObjectsListed} objects listed, {result.DeltasSkipped} .delta files skipped, {result.Entries.Count} chosen.");
        return result;
    }
}
