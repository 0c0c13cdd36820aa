using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;
using Xunit;

namespace BulkData.Engine.Tests.Manifest;

public class ManifestSelectorTests
{
    private static readonly BucketLocation Location = new() { EndpointUrl = "http://127.0.0.1:1" };

    private static ListedObject Obj(string name, long size, string etag = "\"abc\"") =>
        new("bulk-data/" + name, size, etag, new DateTime(2026, 10, 1, 0, 0, 0, DateTimeKind.Utc));

    private static readonly ListedObject[] TwoDumps =
    {
        Obj("opinions-2026-06-30.csv.bz2", 900),
        Obj("opinions-2026-09-30.csv.bz2", 1000),
        Obj("courts-2026-06-30.csv.bz2", 10),
        Obj("courts-2026-09-30.csv.bz2", 11),
        Obj("dockets-2026-09-30.csv.bz2", 500, "\"d41d8c-25\""),
        Obj("schema-2026-07-01.sql", 40),
        Obj("schema-2026-10-01.sql", 41),
        Obj("load-bulk-data-2026-10-01.sh", 5),
        Obj("opinions-2026-09-30.csv.bz2.delta", 5000),
        Obj("citation-map-2026-09-30.delta", 4000),
        Obj("list.html", 3),
    };

    [Fact]
    public void KeepsTheNewestFileOfEachDatasetLargestFirst()
    {
        var result = ManifestSelector.Select(TwoDumps, Location, new ManifestSelection());

        Assert.Equal(
            new[] { "opinions-2026-09-30.csv.bz2", "dockets-2026-09-30.csv.bz2", "schema-2026-10-01.sql", "courts-2026-09-30.csv.bz2", "load-bulk-data-2026-10-01.sh" },
            result.Entries.Select(e => e.FileName));
        Assert.Equal(2, result.DeltasSkipped);
        Assert.Equal(TwoDumps.Length, result.ObjectsListed);
        Assert.Contains(result.Notes, n => n.Contains("list.html"));
    }

    [Fact]
    public void ClassifiesAndDescribesEachEntry()
    {
        var entries = ManifestSelector.Select(TwoDumps, Location, new ManifestSelection()).Entries.ToDictionary(e => e.Dataset);

        Assert.Equal(EntryKind.Data, entries["opinions"].Kind);
        Assert.Equal(EntryKind.Schema, entries["schema"].Kind);
        Assert.Equal(EntryKind.LoadScript, entries["load-bulk-data"].Kind);
        Assert.Equal("abc", entries["opinions"].ETag);
        Assert.False(entries["opinions"].IsMultipart);
        Assert.True(entries["dockets"].IsMultipart);
        Assert.Equal("bulk-data/opinions-2026-09-30.csv.bz2", entries["opinions"].Key);
        Assert.Equal("http://127.0.0.1:1", entries["opinions"].EndpointUrl);
        Assert.Equal("com-courtlistener-storage", entries["opinions"].Bucket);
    }

    [Fact]
    public void ASchemaDatedTheDayAfterBelongsToItsDump()
    {
        var entries = ManifestSelector.Select(TwoDumps, Location, new ManifestSelection()).Entries.ToDictionary(e => e.Dataset);

        Assert.Equal(new DateTime(2026, 9, 30), entries["schema"].DumpDate);
        Assert.Equal(new DateTime(2026, 10, 1), entries["schema"].FileDate);
    }

    [Fact]
    public void AsOfChoosesTheNewestDumpOnOrBeforeTheDateSchemaIncluded()
    {
        var result = ManifestSelector.Select(TwoDumps, Location, new ManifestSelection { AsOf = new DateTime(2026, 6, 30) });

        Assert.Equal(
            new[] { "courts-2026-06-30.csv.bz2", "opinions-2026-06-30.csv.bz2", "schema-2026-07-01.sql" },
            result.Entries.Select(e => e.FileName).OrderBy(n => n));
        Assert.All(result.Entries, e => Assert.Equal(new DateTime(2026, 6, 30), e.DumpDate));
    }

    [Fact]
    public void AllVersionsKeepsEveryDump()
    {
        var result = ManifestSelector.Select(TwoDumps, Location, new ManifestSelection { AllVersions = true });

        Assert.Equal(8, result.Entries.Count);
        Assert.Equal(result.Entries.OrderByDescending(e => e.Size).Select(e => e.Key), result.Entries.Select(e => e.Key));
    }

    [Fact]
    public void IncludeAndExcludeTakeWildcards()
    {
        var result = ManifestSelector.Select(TwoDumps, Location, new ManifestSelection { Include = new[] { "*o*" }, Exclude = new[] { "OPINION?" } });

        Assert.Equal(new[] { "dockets", "courts", "load-bulk-data" }, result.Entries.Select(e => e.Dataset));
    }

    [Fact]
    public void OlderFilesNamedAfterTheirTableJoinTheirDataset()
    {
        var objects = new[] { Obj("search_opinioncluster_panel-2024-12-31.csv", 7), Obj("search-opinioncluster-panel-2026-09-30.csv.bz2", 3) };

        var result = ManifestSelector.Select(objects, Location, new ManifestSelection());

        var only = Assert.Single(result.Entries);
        Assert.Equal("search-opinioncluster-panel", only.Dataset);
        Assert.Equal("search-opinioncluster-panel-2026-09-30.csv.bz2", only.FileName);
    }

    [Fact]
    public void ADatasetMissingFromTheNewestDumpIsNoted()
    {
        var objects = new[] { Obj("courts-2026-09-30.csv.bz2", 3), Obj("oral-arguments-2026-06-30.csv.bz2", 9) };

        var result = ManifestSelector.Select(objects, Location, new ManifestSelection());

        Assert.Equal(2, result.Entries.Count);
        Assert.Contains(result.Notes, n => n.Contains("oral-arguments") && n.Contains("2026-06-30"));
    }

    [Theory]
    [InlineData("opinions-2026-09-30.csv.bz2", "opinions", "2026-09-30", EntryKind.Data)]
    [InlineData("financial-disclosures-non-investment-income-2026-09-30.csv.bz2", "financial-disclosures-non-investment-income", "2026-09-30", EntryKind.Data)]
    [InlineData("schema-2023-12-05.sql", "schema", "2023-12-05", EntryKind.Schema)]
    [InlineData("load-bulk-data-2024-12-31.sh", "load-bulk-data", "2024-12-31", EntryKind.LoadScript)]
    [InlineData("courts-2022-01-01.csv", "courts", "2022-01-01", EntryKind.Data)]
    [InlineData("readme-2022-01-01.txt", "readme", "2022-01-01", EntryKind.Other)]
    public void ParsesThePublishersNames(string name, string dataset, string date, EntryKind kind)
    {
        var parsed = DumpFileName.TryParse(name);

        Assert.NotNull(parsed);
        Assert.Equal(dataset, parsed!.Dataset);
        Assert.Equal(DateTime.Parse(date), parsed.Date);
        Assert.Equal(kind, parsed.Kind);
    }

    [Theory]
    [InlineData("list.html")]
    [InlineData("opinions-2026-13-45.csv.bz2")]
    [InlineData("opinions.csv.bz2")]
    public void RejectsUndatedNames(string name) => Assert.Null(DumpFileName.TryParse(name));
}
