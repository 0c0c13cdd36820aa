using BulkData.Engine.Tests.Compression;
using BulkData.Engine.DumpFiles;
using BulkData.Engine.Compression;
using BulkData.Engine.Transfer;
using Xunit;

namespace BulkData.Engine.Tests.DumpFiles;

public sealed class FileExpanderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "bulkdata-expand-" + Guid.NewGuid().ToString("N")[..10]);

    public FileExpanderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Source, byte[] Input) MakeFile(string name, byte[]? input = null)
    {
        input ??= Bzip2TestData.Text(700_000, name.Length);
        string source = Path.Combine(_dir, name);
        File.WriteAllBytes(source, Bzip2TestData.Compress("lbzip2", 1, input));
        return (source, input);
    }

    [Fact]
    public async Task Expands_verifies_renames_and_deletes_the_source()
    {
        var (source, input) = MakeFile("opinions-2024-12-31.csv.bz2");
        long compressedSize = new FileInfo(source).Length;
        string destination = Path.Combine(_dir, "opinions-2024-12-31.csv");
        var reports = new List<long>();
        var result = await FileExpander.ExpandAsync(source, destination, new ExpandOptions(), new SyncProgress(reports), CancellationToken.None);

        Assert.False(result.Skipped);
        Assert.True(result.SourceDeleted);
        Assert.Equal(input.Length, result.ExpandedBytes);
        Assert.Equal(compressedSize, result.CompressedBytes);
        Assert.Equal(input, File.ReadAllBytes(destination));
        Assert.False(File.Exists(source));
        Assert.False(File.Exists(FetchLayout.ExpandingPath(destination)));
        Assert.Equal(compressedSize, reports[^1]);
    }

    [Fact]
    public async Task KeepCompressed_keeps_the_source_and_an_existing_file_is_skipped_unless_forced()
    {
        var (source, input) = MakeFile("people-db-people-2024-12-31.csv.bz2");
        string destination = Path.Combine(_dir, "people-db-people-2024-12-31.csv");
        File.WriteAllText(destination, "older");

        var skipped = await FileExpander.ExpandAsync(source, destination, new ExpandOptions { KeepCompressed = true }, null, CancellationToken.None);
        Assert.True(skipped.Skipped);
        Assert.Equal("older", File.ReadAllText(destination));

        var forced = await FileExpander.ExpandAsync(source, destination, new ExpandOptions { KeepCompressed = true, Force = true, Threads = 1 }, null, CancellationToken.None);
        Assert.False(forced.Skipped);
        Assert.False(forced.SourceDeleted);
        Assert.True(File.Exists(source));
        Assert.Equal(input, File.ReadAllBytes(destination));
    }

    [Fact]
    public async Task A_corrupt_file_leaves_no_file_under_the_final_name_and_keeps_the_source()
    {
        var (source, _) = MakeFile("dockets-2024-12-31.csv.bz2");
        byte[] bytes = File.ReadAllBytes(source);
        bytes[bytes.Length / 2] ^= 0x04;
        File.WriteAllBytes(source, bytes);
        string destination = Path.Combine(_dir, "dockets-2024-12-31.csv");

        var ex = await Assert.ThrowsAsync<BulkDataException>(() => FileExpander.ExpandAsync(source, destination, new ExpandOptions(), null, CancellationToken.None));
        Assert.Equal(BulkErrorKind.InvalidData, ex.Kind);
        Assert.Contains(source, ex.Message);
        Assert.Matches(@"block \d+ at compressed byte \d+", ex.Message);
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(FetchLayout.ExpandingPath(destination)));
        Assert.Equal(bytes, File.ReadAllBytes(source));
    }

    [Fact]
    public async Task Cancelling_leaves_no_file_under_the_final_name()
    {
        var (source, _) = MakeFile("big-2024-12-31.csv.bz2", Bzip2TestData.Text(3_000_000, 3));
        string destination = Path.Combine(_dir, "big-2024-12-31.csv");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => FileExpander.ExpandAsync(source, destination, new ExpandOptions(), null, cts.Token));
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(FetchLayout.ExpandingPath(destination)));
        Assert.True(File.Exists(source));
    }

    private sealed class SyncProgress : IProgress<long>
    {
        private readonly List<long> _list;

        public SyncProgress(List<long> list) => _list = list;

        public void Report(long value) => _list.Add(value);
    }
}
