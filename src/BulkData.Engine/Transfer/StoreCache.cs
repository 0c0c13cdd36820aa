using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Transfer;

/// <summary>The object store each entry of a plan is read from: one per bucket location, or the one the options give.</summary>
internal sealed class StoreCache : IDisposable
{
    private readonly FetchOptions _options;
    private readonly Dictionary<(string Bucket, string Region, string? Endpoint), IObjectStore> _stores = new();

    public StoreCache(FetchOptions options) => _options = options;

    public IObjectStore For(ManifestEntry entry)
    {
        if (_options.Store is { } given)
        {
            return given;
        }

        lock (_stores)
        {
            var key = (entry.Bucket, entry.Region, entry.EndpointUrl);
            if (!_stores.TryGetValue(key, out var store))
            {
                store = new S3ObjectStore(new BucketLocation { Bucket = entry.Bucket, Region = entry.Region, EndpointUrl = entry.EndpointUrl }, _options.Credentials);
                _stores[key] = store;
            }

            return store;
        }
    }

    public void Dispose()
    {
        lock (_stores)
        {
            foreach (var store in _stores.Values)
            {
                store.Dispose();
            }

            _stores.Clear();
        }
    }
}
