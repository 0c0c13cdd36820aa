using System.Security.Cryptography;

namespace BulkData.Engine.Storage;

/// <summary>
/// A folder on local disk seen as an object store: keys are '/'-separated paths below the root, listed in
/// ordinal order a page at a time, and each file's ETag is the MD5 of its bytes (as S3 gives single-part
/// uploads). For tests and for dumps copied to a local mirror.
/// </summary>
internal sealed class LocalFolderStore : IObjectStore
{
    private readonly string _root;
    private readonly int _pageSize;

    public LocalFolderStore(string root, int pageSize = 1000)
    {
        if (pageSize < 1)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "The page size must be at least 1.");
        }

        _root = Path.GetFullPath(root);
        _pageSize = pageSize;
    }

    public string Describe(string key) => $"file://{_root}/{key}";

    public Task<ObjectPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken ct)
    {
        if (!Directory.Exists(_root))
        {
            throw new BulkDataException(BulkErrorKind.BucketNotFound, $"The folder '{_root}' does not exist.", _root);
        }

        var keys = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)
            .Select(KeyOf)
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && (continuationToken is null || string.CompareOrdinal(k, continuationToken) > 0))
            .Order(StringComparer.Ordinal)
            .Take(_pageSize + 1)
            .ToList();
        bool more = keys.Count > _pageSize;
        var page = keys.Take(_pageSize).Select(k => Stat(k, ct)).ToList();
        return Task.FromResult(new ObjectPage(page, more ? page[^1].Key : null));
    }

    public Task<StoredObject> HeadAsync(string key, CancellationToken ct) => Task.FromResult(Head(key, ct));

    private StoredObject Head(string key, CancellationToken ct)
    {
        if (!File.Exists(PathOf(key)))
        {
            throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"{Describe(key)} no longer exists: run Get-BulkManifest again.", Describe(key));
        }

        return Stat(key, ct);
    }

    public Task<ObjectRead> OpenReadAsync(StoredObject version, long offset, bool wantChecksum, CancellationToken ct)
    {
        var now = Head(version.Key, ct);
        if (now.ETag != version.ETag || now.Size != version.Size)
        {
            throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{Describe(version.Key)} changed since it was listed (ETag {version.ETag}, now {now.ETag}): run Get-BulkManifest again.", Describe(version.Key));
        }

        var stream = new FileStream(PathOf(version.Key), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        stream.Position = Math.Min(offset, stream.Length);
        return Task.FromResult(new ObjectRead(stream, stream.Position, null));
    }

    public void Dispose()
    {
    }

    private string KeyOf(string path) => Path.GetRelativePath(_root, path).Replace(Path.DirectorySeparatorChar, '/');

    private string PathOf(string key)
    {
        string full = Path.GetFullPath(Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new BulkDataException(BulkErrorKind.UnsafePath, $"The key '{key}' is outside '{_root}': refused.", key);
        }

        return full;
    }

    private StoredObject Stat(string key, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        string path = PathOf(key);
        var info = new FileInfo(path);
        using var stream = info.OpenRead();
        string md5 = Convert.ToHexString(MD5.HashData(stream)).ToLowerInvariant();
        return new StoredObject(key, info.Length, md5, info.LastWriteTimeUtc);
    }
}
