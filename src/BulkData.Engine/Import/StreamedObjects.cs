using BulkData.Engine.DumpFiles;
using BulkData.Engine.Import.Tables;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;
using BulkData.Engine.Transfer;

namespace BulkData.Engine.Import;

/// <summary>
/// The objects of a streamed import (ManifestEntry inputs): the stores they are read from, the fetch options
/// their reads follow (retries, backoff, budget, -StallTimeout: Start-BulkFetch's), and the -KeepDownload folder.
/// </summary>
internal sealed class StreamedObjects : IDisposable
{
    private readonly StoreCache _stores;

    public StreamedObjects(FetchOptions options, string? keepFolder)
    {
        Options = options;
        KeepFolder = keepFolder is null ? null : Path.GetFullPath(keepFolder);
        _stores = new StoreCache(options);
    }

    public FetchOptions Options { get; }

    public string? KeepFolder { get; }

    /// <summary>The options of a streamed import when none are given: Start-BulkFetch's defaults.</summary>
    public static FetchOptions Defaults => new() { Destination = Path.GetTempPath() };

    public TableBytes BytesOf(ManifestEntry entry)
    {
        string? keep = KeepFolder is null ? null : FetchLayout.ResolveInside(KeepFolder, FetchLayout.FileNameOfKey(entry.Key));
        return new ObjectTableBytes(_stores.For(entry), entry, Options, keep);
    }

    /// <summary>A script (schema, load script) read from the bucket into memory, verified like a table's bytes.</summary>
    public string ReadText(ManifestEntry entry, IBulkReporter reporter, CancellationToken ct)
    {
        var bytes = BytesOf(entry);
        using var stream = bytes.Open(reporter, wholeRead: true);
        using var memory = new MemoryStream(entry.Size > 0 && entry.Size < int.MaxValue ? (int)entry.Size : 0);
        stream.CopyToAsync(memory, ct).GetAwaiter().GetResult();
        return new System.Text.UTF8Encoding(false).GetString(memory.GetBuffer(), 0, (int)memory.Length).TrimStart('\uFEFF');
    }

    private FolderLock? _keepLock;

    /// <summary>Takes the -KeepDownload folder's lock (as Start-BulkFetch does), held until the plan is disposed.</summary>
    public void LockKeepFolder(bool noWait, IBulkReporter reporter, CancellationToken ct)
    {
        if (KeepFolder is not null && _keepLock is null)
        {
            _keepLock = FolderLock.AcquireAsync(KeepFolder, "Invoke-BulkImport -KeepDownload", noWait, reporter, ct).GetAwaiter().GetResult();
        }
    }

    public void Dispose()
    {
        _keepLock?.Dispose();
        _stores.Dispose();
    }
}

/// <summary>One object of the bucket as a table's bytes: a GET streamed through <see cref="ObjectReadStream"/>.</summary>
internal sealed class ObjectTableBytes(IObjectStore store, ManifestEntry entry, FetchOptions options, string? keepFinalPath) : TableBytes
{
    public override string Name => store.Describe(entry.Key);

    public override bool IsLocal => false;

    public string? KeepFinalPath => keepFinalPath;

    public override long? ReceivedBytes(Stream opened) => (opened as ObjectReadStream)?.Received;

    public override Exception? FailureOf(Stream opened) => (opened as ObjectReadStream)?.Failure;

    public override Stream Open(IBulkReporter reporter, bool wholeRead)
        => new ObjectReadStream(store, new StoredObject(entry.Key, entry.Size, entry.ETag, entry.LastModified), options, reporter, keepFinalPath: wholeRead ? keepFinalPath : null);
}
