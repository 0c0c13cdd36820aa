using System.Security.Cryptography;
using BulkData.Engine.DumpFiles;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;
using BulkData.Engine.Tests.Transfer;
using BulkData.Engine.Transfer;
using Xunit;

namespace BulkData.Engine.Tests.Storage;

/// <summary>The object-store interface is a real seam: Get-BulkManifest's listing and Start-BulkFetch's downloads over a local folder.</summary>
public sealed class LocalFolderStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "bulkdata-store-" + Guid.NewGuid().ToString("N")[..10]);

    public LocalFolderStoreTests() => Directory.CreateDirectory(Path.Combine(_dir, "bucket", "bulk-data"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private byte[] Put(string name, int size, int seed)
    {
        var body = new byte[size];
        new Random(seed).NextBytes(body);
        File.WriteAllBytes(Path.Combine(_dir, "bucket", "bulk-data", name), body);
        return body;
    }

    [Fact]
    public async Task Listing_follows_every_page_and_the_manifest_rules_apply()
    {
        Put("courts-2026-09-30.csv.bz2", 100, 1);   // data files above the stub size (ManifestSelector)
        Put("dockets-2026-09-30.csv.bz2", 300, 2);
        Put("dockets-2026-06-30.csv.bz2", 200, 3);
        Put("schema-2026-10-01.sql", 5, 4);
        Put("opinions-2026-09-30.csv.bz2.delta", 5, 5);
        using var store = new LocalFolderStore(Path.Combine(_dir, "bucket"), pageSize: 2);
        var verbose = new List<string>();

        var result = await ManifestService.GetAsync(store, new BucketLocation { Bucket = "bucket" }, "bulk-data/", new ManifestSelection(), new TransferRulesTests.ListReporter(new List<string>(), verbose), CancellationToken.None);

        Assert.Equal(5, result.ObjectsListed);
        Assert.Equal(1, result.DeltasSkipped);
        Assert.Equal(new[] { "bulk-data/dockets-2026-09-30.csv.bz2", "bulk-data/courts-2026-09-30.csv.bz2", "bulk-data/schema-2026-10-01.sql" }, result.Entries.Select(e => e.Key));
        Assert.Contains(verbose, v => v.StartsWith("Listed page 3 of", StringComparison.Ordinal));
        string md5 = Convert.ToHexString(MD5.HashData(File.ReadAllBytes(Path.Combine(_dir, "bucket", "bulk-data", "courts-2026-09-30.csv.bz2")))).ToLowerInvariant();
        Assert.Equal(md5, result.Entries.Single(e => e.Dataset == "courts").ETag);
    }

    [Fact]
    public async Task An_empty_prefix_is_an_error_that_names_it()
    {
        using var store = new LocalFolderStore(Path.Combine(_dir, "bucket"));
        var error = await Assert.ThrowsAsync<BulkDataException>(() => ManifestService.GetAsync(store, new BucketLocation { Bucket = "bucket" }, "nothing/", new ManifestSelection(), NullReporter.Instance, CancellationToken.None));
        Assert.Equal(BulkErrorKind.EmptyListing, error.Kind);
        Assert.Contains("nothing/", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fetch_reads_through_the_store_resumes_a_partial_and_verifies_the_md5()
    {
        var body = Put("dockets-2026-09-30.csv.bz2", 2_000_000, 7);
        using var store = new LocalFolderStore(Path.Combine(_dir, "bucket"));
        var entry = Assert.Single((await ManifestService.GetAsync(store, new BucketLocation { Bucket = "bucket" }, "bulk-data/", new ManifestSelection(), NullReporter.Instance, CancellationToken.None)).Entries);
        string dest = Path.Combine(_dir, "dest");
        Directory.CreateDirectory(dest);
        string final = Path.Combine(dest, entry.FileName);
        await File.WriteAllBytesAsync(FetchLayout.PartialPath(final), body.AsSpan(0, 777_777).ToArray());
        await File.WriteAllTextAsync(FetchLayout.PartialETagPath(final), entry.ETag);
        var results = new List<(BulkFile File, BulkDataException? Error)>();
        var verbose = new List<string>();

        await BulkFetcher.RunAsync(new[] { entry }, new FetchOptions { Destination = dest, MinimumFreeSpace = 0, Store = store }, new TransferRulesTests.ListReporter(new List<string>(), verbose), (f, e) => results.Add((f, e)), CancellationToken.None);

        var (file, error) = Assert.Single(results);
        Assert.Null(error);
        Assert.Equal(VerificationMethod.SizeAndMD5, file.Verification);
        Assert.Contains(verbose, v => v.Contains("resuming at byte 777,777", StringComparison.Ordinal));
        Assert.Equal(body, await File.ReadAllBytesAsync(final));
        Assert.False(File.Exists(FetchLayout.PartialPath(final)));
    }

    [Fact]
    public async Task A_read_pinned_to_an_old_etag_fails_as_changed()
    {
        Put("courts-2026-09-30.csv.bz2", 100, 1);
        using var store = new LocalFolderStore(Path.Combine(_dir, "bucket"));
        var listed = Assert.Single((await store.ListPageAsync("bulk-data/", null, CancellationToken.None)).Objects);
        Put("courts-2026-09-30.csv.bz2", 100, 2);

        var error = await Assert.ThrowsAsync<BulkDataException>(() => store.OpenReadAsync(listed, 0, false, CancellationToken.None));

        Assert.Equal(BulkErrorKind.IntegrityFailure, error.Kind);
        Assert.Contains("changed since it was listed", error.Message, StringComparison.Ordinal);
    }
}
