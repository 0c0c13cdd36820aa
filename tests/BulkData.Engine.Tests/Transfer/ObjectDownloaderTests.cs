using BulkData.Engine.DumpFiles;
using System.Security.Cryptography;
using BulkData.Engine.Manifest;
using BulkData.Engine.Transfer;
using BulkData.TestKit;
using Xunit;

namespace BulkData.Engine.Tests.Transfer;

/// <summary>Resume, version checks and verification of single downloads, against the real s3rver.</summary>
public sealed class ObjectDownloaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "bulkdata-fetch-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly string _bucket = "xfetch-" + Guid.NewGuid().ToString("N")[..10];
    private readonly string? _endpoint = Environment.GetEnvironmentVariable("BULKDATA_TEST_S3");

    public ObjectDownloaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(ManifestEntry Entry, byte[] Body)> PutAsync(string name, int size, int seed)
    {
        Skip.If(_endpoint is null, "BULKDATA_TEST_S3 is not set: run through ./build.ps1 test, which starts s3rver.");
        var body = new byte[size];
        new Random(seed).NextBytes(body);
        string source = Path.Combine(_dir, "src-" + name);
        await File.WriteAllBytesAsync(source, body);
        using var s3 = Publisher.CreateClient(_endpoint!);
        await Publisher.EnsureBucketAsync(s3, _bucket, default);
        string etag = await Publisher.UploadAsync(s3, _bucket, "bulk-data/" + name, source, 0, default);
        var entry = TransferRulesTests.Entry("bulk-data/" + name, _endpoint, _bucket, etag, size);
        return (entry, body);
    }

    private async Task<(List<(BulkFile File, BulkDataException? Error)> Results, List<string> Verbose)> FetchAsync(params ManifestEntry[] entries)
    {
        var results = new List<(BulkFile, BulkDataException?)>();
        var verbose = new List<string>();
        await BulkFetcher.RunAsync(entries, new FetchOptions { Destination = Path.Combine(_dir, "dest"), MinimumFreeSpace = 0, RetryBaseDelay = TimeSpan.FromMilliseconds(10) }, new TransferRulesTests.ListReporter(new List<string>(), verbose), (f, e) => results.Add((f, e)), CancellationToken.None);
        return (results, verbose);
    }

    private string Dest(string name) => Path.Combine(_dir, "dest", name);

    [SkippableFact]
    public async Task A_partial_of_the_same_version_is_resumed_from_its_last_byte()
    {
        var (entry, body) = await PutAsync("resume-2026-09-30.csv.bz2", 3_000_000, 1);
        Directory.CreateDirectory(Path.Combine(_dir, "dest"));
        string final = Dest(entry.FileName);
        await File.WriteAllBytesAsync(FetchLayout.PartialPath(final), body.AsSpan(0, 1_234_567).ToArray());
        await File.WriteAllTextAsync(FetchLayout.PartialETagPath(final), entry.ETag);

        var (results, verbose) = await FetchAsync(entry);

        var (file, error) = Assert.Single(results);
        Assert.Null(error);
        Assert.Equal(BulkFileState.Downloaded, file.State);
        Assert.Equal(VerificationMethod.SizeAndMD5, file.Verification);
        Assert.Contains(verbose, v => v.Contains("resuming at byte 1,234,567", StringComparison.Ordinal));
        Assert.Equal(body, await File.ReadAllBytesAsync(final));
        Assert.False(File.Exists(FetchLayout.PartialPath(final)));
        Assert.False(File.Exists(FetchLayout.PartialETagPath(final)));
    }

    [SkippableFact]
    public async Task A_partial_of_another_version_is_discarded_and_the_object_fetched_from_zero()
    {
        var (entry, body) = await PutAsync("other-2026-09-30.csv.bz2", 1_000_000, 2);
        Directory.CreateDirectory(Path.Combine(_dir, "dest"));
        string final = Dest(entry.FileName);
        await File.WriteAllBytesAsync(FetchLayout.PartialPath(final), new byte[400_000]);
        await File.WriteAllTextAsync(FetchLayout.PartialETagPath(final), "ffffffffffffffffffffffffffffffff");

        var (results, verbose) = await FetchAsync(entry);

        Assert.Null(Assert.Single(results).Error);
        Assert.Contains(verbose, v => v.Contains("belongs to another version", StringComparison.Ordinal));
        Assert.Contains(verbose, v => v.Contains("downloading 1,000,000 bytes", StringComparison.Ordinal));
        Assert.Equal(body, await File.ReadAllBytesAsync(final));
    }

    [SkippableFact]
    public async Task An_object_replaced_since_it_was_listed_fails_without_a_final_file()
    {
        var (entry, _) = await PutAsync("replaced-2026-09-30.csv.bz2", 500_000, 3);
        await PutAsync("replaced-2026-09-30.csv.bz2", 500_000, 4); // same key, new body, new ETag

        var (results, _) = await FetchAsync(entry);

        var (file, error) = Assert.Single(results);
        Assert.Equal(BulkFileState.Failed, file.State);
        Assert.NotNull(error);
        Assert.Equal(BulkErrorKind.IntegrityFailure, error!.Kind);
        Assert.Contains("changed since it was listed", error.Message);
        Assert.Contains(entry.Key, error.Message);
        Assert.False(File.Exists(Dest(entry.FileName)));
    }

    [SkippableFact]
    public async Task A_corrupt_partial_fails_the_md5_check_and_is_discarded()
    {
        var (entry, body) = await PutAsync("corrupt-2026-09-30.csv.bz2", 800_000, 5);
        Directory.CreateDirectory(Path.Combine(_dir, "dest"));
        string final = Dest(entry.FileName);
        var bad = body.AsSpan(0, 300_000).ToArray();
        bad[1000] ^= 0xFF;
        await File.WriteAllBytesAsync(FetchLayout.PartialPath(final), bad);
        await File.WriteAllTextAsync(FetchLayout.PartialETagPath(final), entry.ETag);

        var (results, _) = await FetchAsync(entry);

        var (file, error) = Assert.Single(results);
        Assert.Equal(BulkFileState.Failed, file.State);
        Assert.Equal(BulkErrorKind.IntegrityFailure, error!.Kind);
        Assert.Contains("MD5", error.Message);
        Assert.False(File.Exists(final));
        Assert.False(File.Exists(FetchLayout.PartialPath(final)), "a partial that failed its MD5 must not be resumed again");

        // The next run starts from zero and succeeds.
        var (again, _) = await FetchAsync(entry);
        Assert.Equal(BulkFileState.Downloaded, Assert.Single(again).File.State);
        Assert.Equal(MD5.HashData(body), MD5.HashData(await File.ReadAllBytesAsync(final)));
    }

    [SkippableFact]
    public async Task A_missing_object_is_reported_by_name()
    {
        var (entry, _) = await PutAsync("present-2026-09-30.csv.bz2", 1000, 6);
        var missing = TransferRulesTests.Entry("bulk-data/missing-2026-09-30.csv.bz2", _endpoint, _bucket, entry.ETag, 1000);

        var (results, _) = await FetchAsync(missing);

        var (file, error) = Assert.Single(results);
        Assert.Equal(BulkFileState.Failed, file.State);
        Assert.Equal(BulkErrorKind.ObjectNotFound, error!.Kind);
        Assert.Contains("missing-2026-09-30.csv.bz2", error.Message);
    }

    [SkippableFact]
    public async Task Only_the_temporary_files_of_the_run_s_own_plan_are_removed_after_it()
    {
        var (entry, _) = await PutAsync("clean-2026-09-30.csv.bz2", 1000, 7);
        Directory.CreateDirectory(Path.Combine(_dir, "dest"));
        string own = FetchLayout.ExpandingPath(Dest("clean-2026-09-30.csv"));
        string otherPartial = FetchLayout.PartialPath(Dest("old-2026-06-30.csv.bz2"));
        string otherExpanding = Dest("old-2026-06-30.csv" + FetchLayout.ExpandingSuffix);
        await File.WriteAllTextAsync(own, "half");
        await File.WriteAllTextAsync(otherPartial, "another plan's resumable bytes");
        await File.WriteAllTextAsync(otherExpanding, "half");

        var (results, verbose) = await FetchAsync(entry);

        Assert.Null(Assert.Single(results).Error);
        Assert.False(File.Exists(own));
        Assert.Contains(verbose, v => v.Contains($"Removed the leftover temporary file '{own}'", StringComparison.Ordinal));
        Assert.Equal("another plan's resumable bytes", await File.ReadAllTextAsync(otherPartial));
        Assert.True(File.Exists(otherExpanding));
        Assert.False(File.Exists(Dest(FolderLock.OwnerFileName)));
    }
}
