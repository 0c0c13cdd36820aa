namespace BulkData.Engine.Transfer;

/// <summary>Expands one downloaded .bz2 file to its final name through a temporary name.</summary>
internal static class Extraction
{
    public static Task<long> ExpandAsync(FetchItem item, string expandedPath, DiskGuard guard, FetchProgress progress, IBulkReporter reporter, CancellationToken ct)
        => throw new BulkDataException(BulkErrorKind.InvalidArgument, "-Extract needs the engine's bzip2 decoder, which this build does not include yet.", item.FinalPath);
}
