namespace BulkData.Engine.DumpFiles;

/// <summary>
/// The download in progress of one object into its final path: the partial file (a prefix of the object's bytes)
/// and the note beside it naming the ETag those bytes belong to. The one rule for trusting a partial, used by the
/// download (to resume) and by the disk-space plan (to count only the missing bytes): the note names the same
/// ETag, and the partial is not longer than the object.
/// </summary>
internal sealed record PartialDownload(string FinalPath)
{
    public string PartialPath => FetchLayout.PartialPath(FinalPath);

    public string ETagPath => FetchLayout.PartialETagPath(FinalPath);

    /// <summary>Bytes of a partial usable for the object (<paramref name="etag"/>, <paramref name="size"/>): 0 when there is none, -1 when it belongs to another version or is too long.</summary>
    public long UsableLength(string? etag, long size)
    {
        if (!File.Exists(PartialPath))
        {
            return 0;
        }

        string? recorded = File.Exists(ETagPath) ? File.ReadAllText(ETagPath).Trim() : null;
        long length = new FileInfo(PartialPath).Length;
        return etag is not null && recorded == etag && length <= size ? length : -1;
    }

    public Task WriteNoteAsync(string etag, CancellationToken ct) => File.WriteAllTextAsync(ETagPath, etag, ct);

    public bool HasNote => File.Exists(ETagPath);

    /// <summary>Gives the complete, verified bytes their final name and drops the note; the size on disk is checked once more first.</summary>
    public void Complete(long size)
    {
        long onDisk = new FileInfo(PartialPath).Length;
        if (onDisk != size)
        {
            throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"'{PartialPath}' holds {onDisk:N0} bytes where {size:N0} were verified: not renamed to '{FinalPath}'.", FinalPath);
        }

        File.Move(PartialPath, FinalPath, overwrite: true);
        FetchLayout.TryDelete(ETagPath);
    }

    public void Delete()
    {
        FetchLayout.TryDelete(PartialPath);
        FetchLayout.TryDelete(ETagPath);
    }
}
