using BulkData.Engine.DumpFiles;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Transfer;

/// <summary>One object of a fetch plan and where it goes.</summary>
internal sealed record FetchItem(ManifestEntry Entry, string FileName, string FinalPath)
{
    public PartialDownload Partial { get; } = new(FinalPath);

    public string PartialPath => Partial.PartialPath;

    public string ETagPath => Partial.ETagPath;

    public string Target => $"s3://{Entry.Bucket}/{Entry.Key}";

    public StoredObject Version => new(Entry.Key, Entry.Size, Entry.ETag, Entry.LastModified);
}

/// <summary>What a finished download was checked with.</summary>
internal sealed record DownloadResult(VerificationMethod Verification, long Bytes, int Retries);

/// <summary>
/// Downloads one object into its partial file and renames it to its final name once verified. Resumes from the
/// bytes on disk with a ranged read when the partial belongs to the same ETag (<see cref="PartialDownload"/>);
/// the attempts run in a <see cref="RetryLoop"/>, the bytes go through a <see cref="BodyWriter"/>.
/// </summary>
internal sealed class ObjectDownloader
{
    private readonly IObjectStore _store;
    private readonly FetchOptions _options;
    private readonly DiskGuard _guard;
    private readonly IBulkReporter _reporter;

    public ObjectDownloader(IObjectStore store, FetchOptions options, DiskGuard guard, IBulkReporter reporter)
    {
        _store = store;
        _options = options;
        _guard = guard;
        _reporter = reporter;
    }

    public async Task<DownloadResult> DownloadAsync(FetchItem item, FetchProgress progress, CancellationToken ct)
    {
        var entry = item.Entry;
        long size = entry.Size;
        long have = item.Partial.UsableLength(entry.ETag, size);
        if (have < 0)
        {
            _reporter.Verbose($"{item.FileName}: the partial file on disk belongs to another version of the object (or is too long): starting again from zero.");
            item.Partial.Delete();
            have = 0;
        }

        if (have == 0 || !item.Partial.HasNote)
        {
            await WriteETagNoteAsync(item, ct).ConfigureAwait(false);
        }

        using var bar = progress.Begin($"{item.FileName}", size, have);
        bool md5 = StoredObject.IsMd5ETag(entry.ETag);
        using var writer = new BodyWriter(size, item.Target, md5);
        if (md5 && have > 0)
        {
            bar.Status = $"re-reading {ByteSize.Format(have)} on disk for its MD5";
        }

        await writer.HashPrefixAsync(item.PartialPath, have, ct).ConfigureAwait(false);
        bar.Status = null;

        var loop = new RetryLoop(_options, _guard, _reporter, bar, item.FileName, item.Target);
        _reporter.Verbose(have > 0
            ? $"{item.FileName}: resuming at byte {have:N0} of {size:N0} ({item.Target})."
            : $"{item.FileName}: downloading {size:N0} bytes ({item.Target}).");
        await loop.RunAsync(token => AttemptAsync(item, writer, bar, md5, token), () => writer.Confirmed, size, item.PartialPath, ct).ConfigureAwait(false);

        var method = Verify(item, writer);
        item.Partial.Complete(size);
        _reporter.Verbose($"{item.FileName}: verified ({method}{(method == VerificationMethod.SizeAndChecksum ? " " + writer.Checksum!.Algorithm : string.Empty)}) and renamed to '{item.FinalPath}'{(loop.Policy.TotalFailures > 0 ? $" after {loop.Policy.TotalFailures} interrupted attempts" : string.Empty)}.");
        return new DownloadResult(method, size, loop.Policy.TotalFailures);
    }

    /// <summary>One read of the object from the confirmed bytes on; ends normally only with the whole object on disk.</summary>
    private async Task AttemptAsync(FetchItem item, BodyWriter writer, FetchProgress.Bar bar, bool md5, CancellationToken ct)
    {
        long size = item.Entry.Size;
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(_options.StallTimeout);
        try
        {
            using var read = await _store.OpenReadAsync(item.Version, writer.Confirmed, wantChecksum: !md5, stall.Token).ConfigureAwait(false);
            if (read.Offset < writer.Confirmed)
            {
                _reporter.Verbose($"{item.FileName}: the server ignored the byte range; starting again from zero.");
                bar.Remove(writer.Confirmed);
                writer.Restart();
            }

            if (read.Offset == 0)
            {
                writer.UseChecksum(read.Checksum);
            }

            // Opened exclusively (an exclusive lock on Unix too): no other writer can change the bytes being hashed.
            using (var file = new FileStream(item.PartialPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                await writer.CopyAsync(read.Body, file, () => stall.CancelAfter(_options.StallTimeout), stall.Token, ct, n => bar.Add(n), _guard.ShouldPause).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException ex) when (stall.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // Not "The operation was canceled": say what happened (a transient failure, retried like a reset).
            throw new TimeoutException($"no byte came for {_options.StallTimeout.TotalSeconds:0.#} s from {item.Target} (at byte {writer.Confirmed:N0} of {size:N0}): the connection was cut (-StallTimeout)", ex);
        }

        if (writer.Confirmed < size)
        {
            throw new IOException($"The connection closed after {writer.Confirmed:N0} of {size:N0} bytes.");
        }
    }

    /// <summary>Files up to this size are hashed again from disk before they get their final name.</summary>
    internal const long OnDiskHashLimit = 64L * 1024 * 1024;

    private static string Md5OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexString(System.Security.Cryptography.MD5.HashData(stream)).ToLowerInvariant();
    }

    /// <summary>Size, then the MD5 (single-part ETag) or the store's checksum; a mismatch discards the download.</summary>
    private static VerificationMethod Verify(FetchItem item, BodyWriter writer)
    {
        var entry = item.Entry;
        long onDisk = new FileInfo(item.PartialPath).Length;
        if (onDisk != entry.Size)
        {
            throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: {onDisk:N0} bytes on disk where the listing says {entry.Size:N0}.", item.Target);
        }

        if (writer.Md5Hex() is { } actual)
        {
            if (!string.Equals(actual, entry.ETag, StringComparison.OrdinalIgnoreCase))
            {
                item.Partial.Delete();
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: the MD5 of the downloaded bytes is {actual}, not the ETag {entry.ETag}; the download was discarded.", item.Target);
            }

            // Where it is cheap, the bytes on disk are hashed again: the file that gets the final name is the one checked.
            if (entry.Size <= OnDiskHashLimit && Md5OfFile(item.PartialPath) is var onDiskMd5 && !string.Equals(onDiskMd5, entry.ETag, StringComparison.OrdinalIgnoreCase))
            {
                item.Partial.Delete();
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: the bytes received match the ETag, but the MD5 of the file on disk is {onDiskMd5}; it was changed while it was written, and the download was discarded.", item.Target);
            }

            return VerificationMethod.SizeAndMD5;
        }

        if (writer.Checksum is { } checksum)
        {
            if (!checksum.Matches())
            {
                item.Partial.Delete();
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: the {checksum.Algorithm} of the downloaded bytes is {checksum.Actual()}, not the server's {checksum.Expected}; the download was discarded.", item.Target);
            }

            return VerificationMethod.SizeAndChecksum;
        }

        return VerificationMethod.Size;
    }

    private async Task WriteETagNoteAsync(FetchItem item, CancellationToken ct)
    {
        try
        {
            await item.Partial.WriteNoteAsync(item.Entry.ETag, ct).ConfigureAwait(false);
        }
        catch (IOException ex) when (DiskGuard.IsNoSpace(ex))
        {
            await _guard.WaitForRoomAsync(true, ct).ConfigureAwait(false);
            await item.Partial.WriteNoteAsync(item.Entry.ETag, ct).ConfigureAwait(false);
        }
    }
}
