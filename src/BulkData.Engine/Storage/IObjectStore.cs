namespace BulkData.Engine.Storage;

/// <summary>One object as a store lists it. The ETag is unquoted; multipart uploads end in <c>-&lt;parts&gt;</c>.</summary>
internal sealed record StoredObject(string Key, long Size, string ETag, DateTime LastModified)
{
    /// <summary>True when the ETag is the MD5 of the body (a single-part upload): 32 hex digits, no part count.</summary>
    public static bool IsMd5ETag(string etag) => !etag.Contains('-') && etag.Length == 32 && etag.All(Uri.IsHexDigit);
}

/// <summary>One page of a listing, and the token of the next page (null on the last).</summary>
internal sealed record ObjectPage(IReadOnlyList<StoredObject> Objects, string? NextToken);

/// <summary>
/// An open read of one version of an object, from a byte offset. <see cref="Offset"/> is where the body really
/// starts: 0 when the store ignored the requested range and sends the whole object.
/// </summary>
internal sealed class ObjectRead(Stream body, long offset, ObjectChecksum? checksum, IDisposable? owner = null) : IDisposable
{
    public Stream Body { get; } = body;

    public long Offset { get; } = offset;

    /// <summary>The store's own checksum of the whole body, when it sent one (whole-object reads only).</summary>
    public ObjectChecksum? Checksum { get; } = checksum;

    public void Dispose()
    {
        Body.Dispose();
        owner?.Dispose();
    }
}

/// <summary>
/// The one interface to an object store: list a page, head an object, and read one version of it from an offset.
/// Every failure comes out as a <see cref="BulkDataException"/> naming the object (not found, access denied,
/// changed since listed, unreachable), except transient network failures, which stay the I/O or HTTP exceptions
/// they are so that a caller's retry loop can retry them.
/// </summary>
internal interface IObjectStore : IDisposable
{
    /// <summary>How errors and messages name an object of this store, e.g. <c>s3://bucket/key</c>.</summary>
    string Describe(string key);

    Task<ObjectPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken ct);

    Task<StoredObject> HeadAsync(string key, CancellationToken ct);

    /// <summary>
    /// Opens the body of <paramref name="version"/> (its key, size and ETag as listed) from <paramref name="offset"/>.
    /// The read is pinned to that ETag: a store that now holds another version fails with IntegrityFailure.
    /// With <paramref name="wantChecksum"/> and offset 0, the store's own checksum of the body is asked for.
    /// </summary>
    Task<ObjectRead> OpenReadAsync(StoredObject version, long offset, bool wantChecksum, CancellationToken ct);
}
