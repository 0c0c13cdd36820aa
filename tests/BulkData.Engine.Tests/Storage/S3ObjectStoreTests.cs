using BulkData.Engine.Storage;
using BulkData.TestKit;
using Xunit;

namespace BulkData.Engine.Tests.Storage;

/// <summary>The S3 implementation of the object-store interface, against the real s3rver.</summary>
public sealed class S3ObjectStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "bulkdata-s3store-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly string _bucket = "xstore-" + Guid.NewGuid().ToString("N")[..10];
    private readonly string? _endpoint = Environment.GetEnvironmentVariable("BULKDATA_TEST_S3");

    public S3ObjectStoreTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<byte[]> PutAsync(string key, int size, int seed)
    {
        Skip.If(_endpoint is null, "BULKDATA_TEST_S3 is not set: run through ./build.ps1 test, which starts s3rver.");
        var body = new byte[size];
        new Random(seed).NextBytes(body);
        string source = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(source, body);
        using var s3 = Publisher.CreateClient(_endpoint!);
        await Publisher.EnsureBucketAsync(s3, _bucket, default);
        await Publisher.UploadAsync(s3, _bucket, key, source, 0, default);
        return body;
    }

    private S3ObjectStore Store() => new(new BucketLocation { Bucket = _bucket, Region = "us-east-1", EndpointUrl = _endpoint }, new S3Credentials("S3RVER", "S3RVER"));

    [SkippableFact]
    public async Task Head_and_a_ranged_read_pinned_to_the_listed_version()
    {
        var body = await PutAsync("bulk-data/a-2026-09-30.csv.bz2", 100_000, 1);
        using var store = Store();
        var listed = Assert.Single((await store.ListPageAsync("bulk-data/", null, default)).Objects);
        var head = await store.HeadAsync(listed.Key, default);
        Assert.Equal(listed, head with { LastModified = listed.LastModified });
        Assert.True(StoredObject.IsMd5ETag(head.ETag));

        using var read = await store.OpenReadAsync(listed, 40_000, wantChecksum: false, default);
        Assert.Equal(40_000, read.Offset);
        var rest = new MemoryStream();
        await read.Body.CopyToAsync(rest);
        Assert.Equal(body.AsSpan(40_000).ToArray(), rest.ToArray());
    }

    [SkippableFact]
    public async Task A_replaced_object_fails_the_pinned_read_and_a_missing_one_is_named()
    {
        await PutAsync("bulk-data/b-2026-09-30.csv.bz2", 10_000, 2);
        using var store = Store();
        var listed = Assert.Single((await store.ListPageAsync("bulk-data/", null, default)).Objects);
        await PutAsync("bulk-data/b-2026-09-30.csv.bz2", 10_000, 3);

        var changed = await Assert.ThrowsAsync<BulkDataException>(() => store.OpenReadAsync(listed, 0, false, default));
        Assert.Equal(BulkErrorKind.IntegrityFailure, changed.Kind);
        Assert.Contains("changed since it was listed", changed.Message, StringComparison.Ordinal);

        var missing = await Assert.ThrowsAsync<BulkDataException>(() => store.HeadAsync("bulk-data/none.csv", default));
        Assert.Equal(BulkErrorKind.ObjectNotFound, missing.Kind);
        Assert.Contains($"s3://{_bucket}/bulk-data/none.csv", missing.Message, StringComparison.Ordinal);
    }
}
