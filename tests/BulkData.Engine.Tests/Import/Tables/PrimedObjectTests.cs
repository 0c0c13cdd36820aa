using System.Security.Cryptography;
using System.Text;
using BulkData.Engine.Import;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;
using BulkData.Engine.Tests.Compression;
using BulkData.Engine.Transfer;
using Xunit;

namespace BulkData.Engine.Tests.Import.Tables;

/// <summary>
/// A streamed table's header check and its load read one GET (issue 13): the header comes from the first bytes of
/// the request the load goes on with, and the load gets every byte of the object once, in order.
/// </summary>
public sealed class PrimedObjectTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bulkdata-primed-" + Guid.NewGuid().ToString("N")[..8]);

    public PrimedObjectTests() => Directory.CreateDirectory(Path.Combine(_root, "bulk-data"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A real store (files in a folder) that counts the reads it opens.</summary>
    private sealed class CountingStore(IObjectStore inner) : IObjectStore
    {
        public int Opens;

        public string Describe(string key) => inner.Describe(key);

        public Task<ObjectPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken ct) => inner.ListPageAsync(prefix, continuationToken, ct);

        public Task<StoredObject> HeadAsync(string key, CancellationToken ct) => inner.HeadAsync(key, ct);

        public Task<ObjectRead> OpenReadAsync(StoredObject version, long offset, bool wantChecksum, CancellationToken ct)
        {
            Interlocked.Increment(ref Opens);
            return inner.OpenReadAsync(version, offset, wantChecksum, ct);
        }

        public void Dispose() => inner.Dispose();
    }

    private (byte[] Bytes, TableJob Job, CountingStore Store, ObjectTableBytes Input) Publish(int rows, bool bzip2)
    {
        if (bzip2 && !Bzip2TestData.ToolExists("lbzip2") && !Bzip2TestData.ToolExists("bzip2"))
        {
            throw new InvalidOperationException("bzip2 or lbzip2 is needed in /usr/bin for this test.");
        }

        var text = new StringBuilder("id,body,extra\n");
        var rng = new Random(7);
        var bytes = new byte[1500];
        for (int i = 1; i <= rows; i++)
        {
            rng.NextBytes(bytes);
            text.Append(i).Append(',').Append(Convert.ToBase64String(bytes)).Append(",x\n");
        }

        byte[] csv = Encoding.UTF8.GetBytes(text.ToString());
        byte[] stored = bzip2 ? Bzip2TestData.Compress(Bzip2TestData.ToolExists("lbzip2") ? "lbzip2" : "bzip2", 9, csv) : csv;
        string name = bzip2 ? "primed-2026-09-30.csv.bz2" : "primed-2026-09-30.csv";
        File.WriteAllBytes(Path.Combine(_root, "bulk-data", name), stored);
        var store = new CountingStore(new LocalFolderStore(_root));
        var entry = new ManifestEntry
        {
            Dataset = "primed", DumpDate = new DateTime(2026, 9, 30), FileDate = new DateTime(2026, 9, 30), Key = "bulk-data/" + name, FileName = name,
            Size = stored.Length, ETag = Convert.ToHexString(MD5.HashData(stored)).ToLowerInvariant(), LastModified = DateTime.UtcNow, Kind = EntryKind.Data,
            Bucket = "local", Region = "us-east-1",
        };
        var input = new ObjectTableBytes(store, entry, StreamedObjects.Defaults, null);
        var job = new TableJob { Schema = "public", Table = "primed", FilePath = store.Describe(entry.Key), Bytes = stored.Length, Dialect = CopyDialect.Escape, Input = input };
        return (stored, job, store, input);
    }

    private static byte[] ReadAll(Stream s)
    {
        using var memory = new MemoryStream();
        var buffer = new byte[1 << 20];
        int n;
        while ((n = s.Read(buffer, 0, buffer.Length)) > 0)
        {
            memory.Write(buffer, 0, n);
        }

        return memory.ToArray();
    }

    [Theory]
    [InlineData(true, 6000)]   // about 12 MB of CSV: many bzip2 blocks, more than the head's limit
    [InlineData(true, 20)]     // smaller than the head's limit: the head reads the whole object and its verification
    [InlineData(false, 3000)]  // a plain .csv
    public async Task The_header_check_and_the_load_read_one_request_and_the_load_gets_every_byte(bool bzip2, int rows)
    {
        var (stored, job, store, input) = Publish(rows, bzip2);

        var header = await DriftPreflight.ReadHeaderAsync(job, CancellationToken.None);
        Assert.Equal(new[] { "id", "body", "extra" }, header);
        Assert.Equal(1, store.Opens);

        using (var load = TableBytes.Of(job).Open(NullReporter.Instance, wholeRead: true))
        {
            Assert.Equal(stored, ReadAll(load));
            Assert.Equal(stored.Length, input.ReceivedBytes(load));
            Assert.Null(input.FailureOf(load));
        }

        Assert.Equal(1, store.Opens);

        // A second load (a dialect reload) opens a request of its own, and gets the same bytes.
        using (var again = TableBytes.Of(job).Open(NullReporter.Instance, wholeRead: true))
        {
            Assert.Equal(stored, ReadAll(again));
        }

        Assert.Equal(2, store.Opens);
    }

    [Fact]
    public async Task A_request_opened_for_the_header_and_not_loaded_is_ended_with_the_plan()
    {
        var (_, job, store, input) = Publish(6000, bzip2: true);
        Assert.NotNull(await DriftPreflight.ReadHeaderAsync(job, CancellationToken.None));
        input.DisposeUnused();

        // Nothing is left primed: the next load is a request of its own from the first byte.
        using var load = TableBytes.Of(job).Open(NullReporter.Instance, wholeRead: true);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_root, "bulk-data", "primed-2026-09-30.csv.bz2")), ReadAll(load));
        Assert.Equal(2, store.Opens);
    }

    [Fact]
    public async Task A_changed_object_fails_the_load_that_goes_on_with_the_header_check_request()
    {
        var (stored, job, _, input) = Publish(6000, bzip2: true);
        Assert.NotNull(await DriftPreflight.ReadHeaderAsync(job, CancellationToken.None));

        // The object changes while the table waits for its turn (the held request is cut: resumed, the ETag differs).
        var changed = (byte[])stored.Clone();
        changed[^10] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(_root, "bulk-data", "primed-2026-09-30.csv.bz2"), changed);

        using var load = TableBytes.Of(job).Open(NullReporter.Instance, wholeRead: true);
        var error = Assert.ThrowsAny<Exception>(() => ReadAll(load));
        Assert.Contains("primed-2026-09-30.csv.bz2", error.Message);
        Assert.NotNull(input.FailureOf(load));
    }

    [Fact]
    public void A_kept_copy_follows_the_fetch_space_rules_below_the_minimum_it_pauses_then_fails_naming_the_folder_with_nothing_under_the_final_name()
    {
        var (_, job, store, _) = Publish(2000, bzip2: true);
        string keepDir = Path.Combine(_root, "kept");
        Directory.CreateDirectory(keepDir);
        string keep = Path.Combine(keepDir, "primed-2026-09-30.csv.bz2");
        // A minimum no disk has free: the copy's writer pauses, for -LowSpaceTimeout, then gives up.
        var options = StreamedObjects.Defaults with { MinimumFreeSpace = long.MaxValue / 4, LowSpaceTimeout = TimeSpan.FromSeconds(1), SpacePollInterval = TimeSpan.FromMilliseconds(100) };
        var manifest = new ManifestEntry
        {
            Dataset = "primed", DumpDate = new DateTime(2026, 9, 30), FileDate = new DateTime(2026, 9, 30), Key = "bulk-data/primed-2026-09-30.csv.bz2", FileName = "primed-2026-09-30.csv.bz2",
            Size = new FileInfo(Path.Combine(_root, "bulk-data", "primed-2026-09-30.csv.bz2")).Length,
            ETag = Convert.ToHexString(MD5.HashData(File.ReadAllBytes(Path.Combine(_root, "bulk-data", "primed-2026-09-30.csv.bz2")))).ToLowerInvariant(),
            LastModified = DateTime.UtcNow, Kind = EntryKind.Data, Bucket = "local", Region = "us-east-1",
        };
        var kept = new ObjectTableBytes(store, manifest, options, keep);
        using var load = kept.Open(NullReporter.Instance, wholeRead: true);
        var error = Assert.Throws<BulkDataException>(() => ReadAll(load));
        Assert.Equal(BulkErrorKind.InsufficientSpace, error.Kind);
        Assert.Contains(keepDir, error.Message);
        Assert.Contains("-LowSpaceTimeout", error.Message);
        Assert.False(File.Exists(keep), "nothing under the final name");

        // The default minimum (Start-BulkFetch's 256 MiB) on a disk with room: the copy is the object, byte for byte.
        var roomy = new ObjectTableBytes(store, manifest, StreamedObjects.Defaults, keep);
        using (var again = roomy.Open(NullReporter.Instance, wholeRead: true))
        {
            ReadAll(again);
        }

        Assert.Equal(File.ReadAllBytes(Path.Combine(_root, "bulk-data", "primed-2026-09-30.csv.bz2")), File.ReadAllBytes(keep));
    }
}
