using BulkData.Engine.Storage;

namespace BulkData.Engine.Manifest;

/// <summary>
/// Lists a prefix of an object store, following every continuation page, and distrusts what the server sends: a
/// continuation token that comes back again (a server looping over its pages) or a run of empty pages stops the
/// listing with an error naming the page; a key no real dump file has (a control character, more than S3's 1,024
/// bytes, a '..' segment, a leading '/', a backslash) is skipped with a warning (the first few by name, then one
/// count), so that nothing outside the destination can ever be asked for.
/// </summary>
internal sealed class BucketLister
{
    /// <summary>S3's own limit on a key: 1,024 bytes of UTF-8.</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>Empty pages in a row that still carry a continuation token before the listing is stopped.</summary>
    public const int MaxEmptyPagesInARow = 20;

    /// <summary>Skipped keys named one by one in warnings; the rest are counted in one.</summary>
    public const int NamedSkips = 10;

    private readonly IObjectStore _store;

    public BucketLister(IObjectStore store)
    {
        _store = store;
    }

    /// <summary>Raised after each page with the page number and the number of keys listed so far.</summary>
    public event Action<int, int>? PageListed;

    /// <summary>Raised with a warning for a key that is skipped (or for the count of those not named).</summary>
    public event Action<string>? KeySkipped;

    /// <summary>Keys skipped by the last listing.</summary>
    public int Skipped { get; private set; }

    /// <param name="where">How the empty-listing error names where the bucket is (" in us-west-2", " at http://...").</param>
    /// <param name="onKey">Takes each key kept, as its page arrives: the lister keeps none of them.</param>
    /// <returns>How many keys were kept.</returns>
    public async Task<int> ListAsync(string prefix, string where, Action<ListedObject> onKey, CancellationToken cancellationToken)
    {
        int kept = 0;
        // 128 bits of each token's SHA-256, not the token: a server's tokens may be of any length.
        var tokens = new HashSet<UInt128>();
        string? token = null;
        int page = 0, emptyInARow = 0;
        Skipped = 0;
        do
        {
            var listed = await _store.ListPageAsync(prefix, token, cancellationToken).ConfigureAwait(false);
            page++;
            foreach (var o in listed.Objects)
            {
                if (Refusal(o.Key, o.Size) is { } why)
                {
                    if (++Skipped <= NamedSkips)
                    {
                        KeySkipped?.Invoke($"Skipped the listed key {Printable(o.Key)} of {_store.Describe(prefix)} (page {page}): {why}.");
                    }

                    continue;
                }

                onKey(new ListedObject(o.Key, o.Size, o.ETag, o.LastModified));
                kept++;
            }

            PageListed?.Invoke(page, kept);
            emptyInARow = listed.Objects.Count == 0 ? emptyInARow + 1 : 0;
            token = listed.NextToken;
            if (token is not null && !tokens.Add(TokenHash(token)))
            {
                string target = _store.Describe(prefix);
                throw new BulkDataException(BulkErrorKind.InvalidData, $"The listing of '{target}'{where} sent the continuation token {Printable(token)} a second time (page {page}): the server is going round in circles; stopped after {kept} keys, nothing chosen.", target);
            }

            if (token is not null && emptyInARow >= MaxEmptyPagesInARow)
            {
                string target = _store.Describe(prefix);
                throw new BulkDataException(BulkErrorKind.InvalidData, $"The listing of '{target}'{where} sent {emptyInARow} empty pages in a row that each asked for another (page {page}): stopped after {kept} keys, nothing chosen.", target);
            }
        }
        while (token is not null);

        if (Skipped > NamedSkips)
        {
            KeySkipped?.Invoke($"Skipped {Skipped - NamedSkips} more listed keys of {_store.Describe(prefix)} for the same reasons ({Skipped} in all).");
        }

        if (kept == 0)
        {
            string target = _store.Describe(prefix);
            throw new BulkDataException(BulkErrorKind.EmptyListing, $"Nothing is listed under '{target}'{where}. Check -Prefix.", target);
        }

        return kept;
    }

    private static UInt128 TokenHash(string token)
    {
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token), hash);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(hash);
    }

    /// <summary>Why a listed key is not one to keep (null: it is fine).</summary>
    internal static string? Refusal(string key, long size)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "an empty key";
        }

        if (System.Text.Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            return $"{System.Text.Encoding.UTF8.GetByteCount(key):N0} bytes long, more than the {MaxKeyBytes:N0} S3 allows";
        }

        foreach (char c in key)
        {
            if (char.IsControl(c))
            {
                return $"it holds the control character U+{(int)c:X4}";
            }
        }

        if (key.StartsWith('/') || key.Contains('\\') || key.Split('/').Any(s => s == ".."))
        {
            return "it would name a path outside the destination ('..', a leading '/' or a backslash)";
        }

        if (size < 0)
        {
            return $"a negative size ({size})";
        }

        return null;
    }

    /// <summary>A key or token as a message shows it: control characters escaped, at most 120 characters.</summary>
    internal static string Printable(string text)
    {
        var sb = new System.Text.StringBuilder("'");
        foreach (char c in text.Length > 120 ? text[..120] : text)
        {
            sb.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        sb.Append(text.Length > 120 ? $"...' ({text.Length:N0} characters)" : "'");
        return sb.ToString();
    }
}
