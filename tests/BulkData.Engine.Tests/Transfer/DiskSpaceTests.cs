using BulkData.Engine.DumpFiles;
using BulkData.Engine.Transfer;
using Xunit;

namespace BulkData.Engine.Tests.Transfer;

public sealed class DiskSpaceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bulkdata-space-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void CountsEveryMissingFile()
    {
        var report = DiskSpace.Measure(_dir, new[] { new SpaceItem("a.csv.bz2", 1000), new SpaceItem("schema-2026-10-01.sql", 50) }, extract: false, 5, reserveBytes: 7);

        Assert.Equal(1050, report.RequiredBytes);
        Assert.Equal(7, report.ReserveBytes);
        Assert.Equal(0, report.FilesPresent);
        Assert.Equal(2, report.FileCount);
    }

    [Fact]
    public void CompleteFilesAreNotCountedAgainAndPartialsCountOnlyTheirRest()
    {
        File.WriteAllBytes(Path.Combine(_dir, "a.csv.bz2"), new byte[1000]);
        File.WriteAllBytes(Path.Combine(_dir, "b.csv.bz2" + FetchLayout.PartialSuffix), new byte[300]);
        File.WriteAllText(Path.Combine(_dir, "b.csv.bz2" + FetchLayout.PartialETagSuffix), "etag-b");
        File.WriteAllBytes(Path.Combine(_dir, "c.csv.bz2"), new byte[10]); // wrong size: not complete

        var report = DiskSpace.Measure(_dir, new[] { new SpaceItem("a.csv.bz2", 1000), new SpaceItem("b.csv.bz2", 800, "etag-b"), new SpaceItem("c.csv.bz2", 20) }, extract: false, 5, 0);

        Assert.Equal(500 + 20, report.RequiredBytes);
        Assert.Equal(1, report.FilesPresent);
        Assert.Equal(1300, report.AlreadyPresentBytes);
    }

    [Fact]
    public void APartialCountsOnlyWhenTheDownloadWouldResumeIt()
    {
        // The download's rule: no note, or a note naming another version, means the partial is fetched again from zero.
        File.WriteAllBytes(Path.Combine(_dir, "n.csv.bz2" + FetchLayout.PartialSuffix), new byte[300]);
        File.WriteAllBytes(Path.Combine(_dir, "o.csv.bz2" + FetchLayout.PartialSuffix), new byte[300]);
        File.WriteAllText(Path.Combine(_dir, "o.csv.bz2" + FetchLayout.PartialETagSuffix), "etag-old");

        var report = DiskSpace.Measure(_dir, new[] { new SpaceItem("n.csv.bz2", 800, "etag-n"), new SpaceItem("o.csv.bz2", 800, "etag-new") }, extract: false, 5, 0);

        Assert.Equal(1600, report.RequiredBytes);
        Assert.Equal(0, report.AlreadyPresentBytes);
    }

    [Fact]
    public void ExtractAddsTheExpandedSizeOfCompressedFilesOnly()
    {
        File.WriteAllBytes(Path.Combine(_dir, "done.csv"), new byte[5]); // already extracted
        File.WriteAllBytes(Path.Combine(_dir, "fetched.csv.bz2"), new byte[100]); // fetched, not yet extracted

        var items = new[] { new SpaceItem("new.csv.bz2", 100), new SpaceItem("done.csv.bz2", 100), new SpaceItem("fetched.csv.bz2", 100), new SpaceItem("schema-x.sql", 10) };
        var report = DiskSpace.Measure(_dir, items, extract: true, 4.5, 0);

        Assert.Equal((100 + 450) + 0 + 450 + 10, report.RequiredBytes);
        Assert.Equal(2, report.FilesPresent);
    }

    [Fact]
    public void AMissingPathIsMeasuredAtItsNearestExistingParent()
    {
        string missing = Path.Combine(_dir, "not", "yet", "there");

        var report = DiskSpace.Measure(missing, Array.Empty<SpaceItem>(), false, 5, 0, extraRequiredBytes: 42);

        Assert.Equal(_dir, report.MeasuredPath);
        Assert.Equal(missing, report.Path);
        Assert.Equal(42, report.RequiredBytes);
        Assert.Equal(new DriveInfo(_dir).AvailableFreeSpace, report.AvailableBytes, tolerance: 1 << 20);
    }

    [Fact]
    public void ShortfallIsWhatIsMissing()
    {
        var report = DiskSpace.Measure(_dir, Array.Empty<SpaceItem>(), false, 5, reserveBytes: 10, extraRequiredBytes: long.MaxValue / 4);

        Assert.False(report.IsSufficient);
        Assert.Equal(long.MaxValue / 4 + 10 - report.AvailableBytes, report.ShortfallBytes);
    }

    [Fact]
    public void RejectsARatioBelowOne()
        => Assert.Throws<BulkDataException>(() => DiskSpace.Measure(_dir, Array.Empty<SpaceItem>(), true, 0.5, 0));
}
