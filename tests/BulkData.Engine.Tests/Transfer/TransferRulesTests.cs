using BulkData.Engine.Storage;
using BulkData.Engine.DumpFiles;
using System.Security.Cryptography;
using System.Text;
using BulkData.Engine.Manifest;
using BulkData.Engine.Transfer;
using Xunit;

namespace BulkData.Engine.Tests.Transfer;

public sealed class TransferRulesTests
{
    [Fact]
    public void Retry_policy_backs_off_exponentially_and_gives_up_after_RetryCount_failures_without_progress()
    {
        var policy = new RetryPolicy(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), new Random(7));
        var first = policy.OnFailure(madeProgress: false)!.Value;
        var second = policy.OnFailure(madeProgress: false)!.Value;
        var third = policy.OnFailure(madeProgress: false)!.Value;
        Assert.InRange(first.TotalMilliseconds, 500, 1000);
        Assert.InRange(second.TotalMilliseconds, 1000, 2000);
        Assert.InRange(third.TotalMilliseconds, 1500, 3000); // capped at 3 s, half of it jitter
        Assert.Null(policy.OnFailure(madeProgress: false));
        Assert.Equal(4, policy.FailuresWithoutProgress);
    }

    [Fact]
    public void Retry_policy_never_runs_out_while_attempts_make_progress()
    {
        var policy = new RetryPolicy(1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        for (int i = 0; i < 100; i++)
        {
            var delay = policy.OnFailure(madeProgress: true);
            Assert.NotNull(delay);
            Assert.True(delay!.Value < TimeSpan.FromMilliseconds(100));
            Assert.NotNull(policy.OnFailure(madeProgress: false)); // one failure in a row is allowed by RetryCount 1
        }

        Assert.Equal(200, policy.TotalFailures);
        Assert.Null(policy.OnFailure(madeProgress: false));
    }

    [Fact]
    public void Retry_policy_waits_at_least_Retry_After_and_bounds_throttling_by_its_time_budget_not_the_count()
    {
        var now = TimeSpan.Zero;
        var policy = new RetryPolicy(1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), new Random(3), budget: TimeSpan.FromSeconds(60), clock: () => now);
        var waits = new List<TimeSpan>();
        while (policy.OnFailure(madeProgress: false, throttled: true, retryAfter: TimeSpan.FromSeconds(2)) is { } wait)
        {
            waits.Add(wait);
            now += wait;
        }

        // Far more than RetryCount 1 throttled answers were retried, each after at least its Retry-After, until the budget ran out.
        Assert.True(waits.Count > 5, $"{waits.Count} retries");
        Assert.All(waits.Take(waits.Count - 1), w => Assert.True(w >= TimeSpan.FromSeconds(2), $"{w}"));
        Assert.InRange(now.TotalSeconds, 60, 60.001);
        Assert.True(policy.BudgetSpent);
        Assert.Equal(0, policy.FailuresWithoutProgress);

        // Backoff grows past a short Retry-After; an answer with progress starts the budget again.
        var fresh = new RetryPolicy(1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), new Random(3), budget: TimeSpan.FromSeconds(60), clock: () => now);
        var delays = Enumerable.Range(0, 5).Select(_ => fresh.OnFailure(false, throttled: true, retryAfter: TimeSpan.FromMilliseconds(100))!.Value).ToList();
        Assert.InRange(delays[4].TotalSeconds, 4, 8);
        Assert.NotNull(fresh.OnFailure(madeProgress: true));
        now += TimeSpan.FromSeconds(120);
        Assert.NotNull(fresh.OnFailure(false, throttled: true));
        Assert.False(fresh.BudgetSpent);
    }

    [Theory]
    [InlineData("crc32", "cbf43926")]
    [InlineData("crc32c", "e3069283")]
    [InlineData("crc64nvme", "ae8b14860a799888")]
    public void Crcs_match_their_published_check_values(string algorithm, string check)
    {
        var crc = algorithm switch { "crc32" => ReflectedCrc.Crc32(), "crc32c" => ReflectedCrc.Crc32C(), _ => ReflectedCrc.Crc64Nvme() };
        crc.Append(Encoding.ASCII.GetBytes("1234"));
        crc.Append(Encoding.ASCII.GetBytes("56789"));
        Assert.Equal(check, Convert.ToHexString(crc.Digest()).ToLowerInvariant());
    }

    [Fact]
    public void Object_checksums_use_whole_object_values_only()
    {
        byte[] body = Encoding.UTF8.GetBytes("id,name\n1,\"a\\\"b\"\n");
        string sha256 = Convert.ToBase64String(SHA256.HashData(body));
        using var checksum = ObjectChecksum.For("x-amz-checksum-sha256", sha256, "FULL_OBJECT")!;
        checksum.Append(body.AsSpan(0, 5));
        checksum.Append(body.AsSpan(5));
        Assert.True(checksum.Matches());
        Assert.Equal("SHA256", checksum.Algorithm);

        Assert.Null(ObjectChecksum.For("x-amz-checksum-crc32", "AAAAAA==-4", null));
        Assert.Null(ObjectChecksum.For("x-amz-checksum-crc32", "AAAAAA==", "COMPOSITE"));
        using var wrong = ObjectChecksum.For("x-amz-checksum-crc32", "AAAAAA==", null)!;
        wrong.Append(body);
        Assert.False(wrong.Matches());
    }

    [Theory]
    [InlineData("bulk-data/../../evil.csv")]
    [InlineData("../evil.csv")]
    [InlineData("/etc/evil.csv")]
    [InlineData("bulk-data\\..\\evil.csv")]
    [InlineData("C:/evil.csv")]
    [InlineData("bulk-data/..")]
    [InlineData("bulk-data/")]
    public void Unsafe_keys_are_refused(string key)
    {
        var ex = Assert.Throws<BulkDataException>(() => FetchLayout.FileNameOfKey(key));
        Assert.Equal(BulkErrorKind.UnsafePath, ex.Kind);
        Assert.Contains(key, ex.Message);
    }

    [Fact]
    public void A_plain_key_resolves_inside_the_destination()
    {
        string dest = Path.Combine(Path.GetTempPath(), "dest");
        string name = FetchLayout.FileNameOfKey("bulk-data/opinions-2026-09-30.csv.bz2");
        Assert.Equal(Path.Combine(dest, "opinions-2026-09-30.csv.bz2"), FetchLayout.ResolveInside(dest, name));
        Assert.True(FetchLayout.IsTemporaryName(name + FetchLayout.PartialSuffix));
        Assert.True(FetchLayout.IsTemporaryName(Path.GetFileName(FetchLayout.PartialETagPath(name))));
        Assert.False(FetchLayout.IsTemporaryName(name));
    }

    [Fact]
    public void Public_urls_escape_keys_and_follow_the_endpoint_style()
    {
        var onEndpoint = Entry("bulk-data/a b+c.csv", "http://127.0.0.1:4568/", "mirror");
        Assert.Equal("http://127.0.0.1:4568/mirror/bulk-data/a%20b%2Bc.csv", S3ObjectStore.PublicUrl(new BucketLocation { Bucket = onEndpoint.Bucket, Region = onEndpoint.Region, EndpointUrl = onEndpoint.EndpointUrl }, onEndpoint.Key).AbsoluteUri);
        var onAws = Entry("bulk-data/opinions-2026-09-30.csv.bz2", null, "com-courtlistener-storage");
        Assert.Equal("https://com-courtlistener-storage.s3.us-west-2.amazonaws.com/bulk-data/opinions-2026-09-30.csv.bz2", S3ObjectStore.PublicUrl(new BucketLocation { Bucket = onAws.Bucket, Region = onAws.Region, EndpointUrl = onAws.EndpointUrl }, onAws.Key).AbsoluteUri);
        var dotted = Entry("k.csv", null, "my.bucket");
        Assert.Equal("https://s3.us-west-2.amazonaws.com/my.bucket/k.csv", S3ObjectStore.PublicUrl(new BucketLocation { Bucket = dotted.Bucket, Region = dotted.Region, EndpointUrl = dotted.EndpointUrl }, dotted.Key).AbsoluteUri);
    }

    [Fact]
    public void Md5_etags_are_told_from_multipart_etags()
    {
        Assert.True(StoredObject.IsMd5ETag(Entry("k", null, "b", "0123456789abcdef0123456789abcdef").ETag));
        Assert.False(StoredObject.IsMd5ETag(Entry("k", null, "b", "0123456789abcdef0123456789abcdef-25").ETag));
        Assert.False(StoredObject.IsMd5ETag(Entry("k", null, "b", "not-an-md5").ETag));
    }

    [SkippableFact]
    public void A_write_to_a_full_device_is_recognised_as_no_space()
    {
        Skip.IfNot(File.Exists("/dev/full"), "/dev/full is needed to provoke a real ENOSPC.");
        var ex = Assert.ThrowsAny<IOException>(() =>
        {
            using var full = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
            full.Write(new byte[4096]);
            full.Flush();
        });
        Assert.True(DiskGuard.IsNoSpace(ex));
        Assert.False(DiskGuard.IsNoSpace(new IOException("Connection reset by peer", 104)));
    }

    [Fact]
    public async Task The_disk_guard_fails_the_run_after_the_low_space_timeout()
    {
        var warnings = new List<string>();
        var guard = new DiskGuard(Path.GetTempPath(), long.MaxValue / 2, TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(50), new ListReporter(warnings));
        Assert.True(guard.ShouldPause());
        var ex = await Assert.ThrowsAsync<BulkDataException>(() => guard.WaitForRoomAsync(false, CancellationToken.None));
        Assert.Equal(BulkErrorKind.InsufficientSpace, ex.Kind);
        Assert.Contains("-LowSpaceTimeout", ex.Message);
        Assert.Single(warnings, w => w.Contains("paused", StringComparison.Ordinal));
        Assert.Equal(1, guard.Pauses);
    }

    [Fact]
    public async Task The_disk_guard_lets_writes_through_when_there_is_room()
    {
        var guard = new DiskGuard(Path.GetTempPath(), 1, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(50), NullReporter.Instance);
        Assert.False(guard.ShouldPause());
        await guard.WaitForRoomAsync(false, CancellationToken.None);
        Assert.Equal(0, guard.Pauses);
    }

    internal static ManifestEntry Entry(string key, string? endpoint, string bucket, string etag = "0123456789abcdef0123456789abcdef", long size = 10) => new()
    {
        Dataset = "d",
        DumpDate = new DateTime(2026, 9, 30),
        FileDate = new DateTime(2026, 9, 30),
        Key = key,
        FileName = key.Split('/')[^1],
        Size = size,
        ETag = etag,
        LastModified = new DateTime(2026, 10, 1),
        Kind = EntryKind.Data,
        Bucket = bucket,
        Region = "us-west-2",
        EndpointUrl = endpoint,
    };

    internal sealed class ListReporter : IBulkReporter
    {
        private readonly List<string> _warnings;
        private readonly List<string>? _verbose;

        public ListReporter(List<string> warnings, List<string>? verbose = null)
        {
            _warnings = warnings;
            _verbose = verbose;
        }

        public void Verbose(string message)
        {
            lock (_warnings)
            {
                _verbose?.Add(message);
            }
        }

        public void Warning(string message)
        {
            lock (_warnings)
            {
                _warnings.Add(message);
            }
        }

        public void Progress(ProgressUpdate update)
        {
        }
    }
}
