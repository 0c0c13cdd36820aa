using BulkData.Engine.Storage;

namespace BulkData.Engine.Manifest;

/// <summary>Lists a prefix of an object store, following every continuation page.</summary>
internal sealed class BucketLister
{
    private readonly IObjectStore _store;

    public BucketLister(IObjectStore store)
    {
        _store = store;
    }

    /// <summary>Raised after each page with the page number and the number of keys listed so far.</summary>
    public event Action<int, int>? PageListed;

    /// <param name="where">How the empty-listing error names where the bucket is (" in us-west-2", " at http://...").</param>
    public async Task<IReadOnlyList<ListedObject>> ListAsync(string prefix, string where, CancellationToken cancellationToken)
    {
        var all = new List<ListedObject>();
        string? token = null;
        int page = 0;
        do
        {
            var listed = await _store.ListPageAsync(prefix, token, cancellationToken).ConfigureAwait(false);
            page++;
            all.AddRange(listed.Objects.Select(o => new ListedObject(o.Key, o.Size, o.ETag, o.LastModified)));
            PageListed?.Invoke(page, all.Count);
            token = listed.NextToken;
        }
        while (token is not null);

        if (all.Count == 0)
        {
            string target = _store.Describe(prefix);
            throw new BulkDataException(BulkErrorKind.EmptyListing, $"Nothing is listed under '{target}'{where}. Check -Prefix.", target);
        }

        return all;
    }
}
