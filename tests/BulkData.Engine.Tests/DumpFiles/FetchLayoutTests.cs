using BulkData.Engine.DumpFiles;
using BulkData.Engine.Transfer;
using Xunit;

namespace BulkData.Engine.Tests.DumpFiles;

public class FetchLayoutTests
{
    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("..")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\..\\b")]
    [InlineData("sub/file.csv")]
    [InlineData("")]
    [InlineData(" name")]
    [InlineData("c:evil")]
    public void RefusesNamesThatLeaveTheDestination(string name)
    {
        var ex = Assert.Throws<BulkDataException>(() => FetchLayout.ResolveInside("/srv/bulk-data", name));
        Assert.Equal(BulkErrorKind.UnsafePath, ex.Kind);
    }

    [Fact]
    public void PlainNamesResolveInside()
        => Assert.Equal(Path.GetFullPath("/srv/bulk-data/courts-2026-09-30.csv.bz2"), FetchLayout.ResolveInside("/srv/bulk-data/", "courts-2026-09-30.csv.bz2"));

    [Theory]
    [InlineData("bulk-data/../../x.csv")]
    [InlineData("bulk-data/")]
    [InlineData("bulk-data/..")]
    [InlineData("bulk-data/a\\b.csv")]
    public void RefusesOddKeys(string key) => Assert.Throws<BulkDataException>(() => FetchLayout.FileNameOfKey(key));

    [Fact]
    public void ExpandedNameDropsBz2() => Assert.Equal("opinions-2026-09-30.csv", FetchLayout.ExpandedName("opinions-2026-09-30.csv.bz2"));
}
