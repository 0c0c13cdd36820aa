using BulkData.Engine.Storage;

namespace BulkData.Engine.Manifest;

/// <summary>Lists a bucket and chooses its files: the whole of Get-BulkManifest.</summary>
public static class ManifestService
{
    public static async Task<ManifestResult> GetAsync(BucketLocation location, string prefix, ManifestSelection selection, S3Credentials? credentials, IBulkReporter reporter, CancellationToken cancellationToken)
    {
        using var store = new S3ObjectStore(location, credentials);
        return await GetAsync(store, location, prefix, selection, reporter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The same over any object store; <paramref name="location"/> is what the entries say they came from.</summary>
    internal static async Task<ManifestResult> GetAsync(IObjectStore store, BucketLocation location, string prefix, ManifestSelection selection, IBulkReporter reporter, CancellationToken cancellationToken)
    {
        var lister = new BucketLister(store);
        string where = location.EndpointUrl ?? location.Region;
        string activity = $"Listing {store.Describe(prefix)}";
        using var progress = new ProgressReporter(reporter);
        var bar = progress.Begin(activity);
        lister.PageListed += (page, count) =>
        {
            reporter.Verbose($"Listed page {page} of {store.Describe(prefix)} ({where}): {count} keys so far.");
            bar.Status($"{count} keys, page {page}");
        };
        lister.KeySkipped += reporter.Warning;

        // One pass: each key goes into the choice as its page arrives, so memory follows what is chosen, not what is listed.
        var chooser = new ManifestChooser(location, selection);
        await lister.ListAsync(prefix, location.Where, chooser.Add, cancellationToken).ConfigureAwait(false);
        bar.Complete();
        var result = chooser.Finish();
        reporter.Verbose($"{result.ObjectsListed} objects listed, {result.DeltasSkipped} .delta files skipped, {result.Entries.Count} chosen.");
        return result;
    }
}
