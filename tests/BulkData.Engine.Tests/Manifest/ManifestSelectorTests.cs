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
        // Sizes above the stub limit (a .bz2 smaller than 37 bytes holds no CSV header).
        Obj("opinions-2026-06-30.csv.bz2", 9000),
        Obj("opinions-2026-09-30.csv.bz2", 10000),
        Obj("courts-2026-06-30.csv.bz2", 100),
        Obj("courts-2026-09-30.csv.bz2", 110),
        Obj("dockets-2026-09-30.csv.bz2", 5000, "\"d41d8c-25\""),
        Obj("schema-2026-07-01.sql", 400),
        Obj("schema-2026-10-01.sql", 410),
        Obj("load-bulk-data-2026-10-01.sh", 50),
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
        var objects = new[] { Obj("search_opinioncluster_panel-2024-12-31.csv", 70), Obj("search-opinioncluster-panel-2026-09-30.csv.bz2", 300) };

        var result = ManifestSelector.Select(objects, Location, new ManifestSelection());

        var only = Assert.Single(result.Entries);
        Assert.Equal("search-opinioncluster-panel", only.Dataset);
        Assert.Equal("search-opinioncluster-panel-2026-09-30.csv.bz2", only.FileName);
    }

    [Fact]
    public void ADatasetMissingFromTheNewestDumpIsNoted()
    {
        var objects = new[] { Obj("courts-2026-09-30.csv.bz2", 300), Obj("oral-arguments-2026-06-30.csv.bz2", 900) };

        var result = ManifestSelector.Select(objects, Location, new ManifestSelection());

        Assert.Equal(2, result.Entries.Count);
        Assert.Contains(result.Notes, n => n.Contains("oral-arguments") && n.Contains("2026-06-30"));
    }

    // The listing of 2025-01-31: the newest dockets and opinions files were stubs of failed exports.
    private static readonly ListedObject[] WithStubs =
    {
        Obj("dockets-2024-12-31.csv.bz2", 5000),
        Obj("dockets-2025-01-31.csv.bz2", 14),
        Obj("opinions-2024-12-31.csv.bz2", 9000),
        Obj("opinions-2025-01-31.csv.bz2", 36),
        Obj("courts-2024-12-31.csv.bz2", 300),
        Obj("courts-2025-01-31.csv.bz2", 37),
        Obj("investments-2025-01-31.csv.bz2", 14),
        Obj("people_db_race-2025-01-31.csv", 0),
        Obj("people_db_race-2024-12-31.csv", 12),
        Obj("schema-2025-02-01.sql", 400),
    };

    [Theory]
    [InlineData("dockets-2025-01-31.csv.bz2", 14, true)]
    [InlineData("dockets-2025-01-31.csv.bz2", 36, true)]
    [InlineData("dockets-2025-01-31.csv.bz2", 37, false)]
    [InlineData("dockets-2025-01-31.csv", 0, true)]
    [InlineData("dockets-2025-01-31.csv", 3, false)]
    public void A_stub_is_a_data_file_too_small_to_hold_a_csv_header(string name, long size, bool stub)
        => Assert.Equal(stub, ManifestSelector.IsStub(name, size, EntryKind.Data));

    [Fact]
    public void A_stub_gives_way_to_the_newest_real_file_of_its_dataset_with_a_note_naming_both()
    {
        var result = ManifestSelector.Select(WithStubs, Location, new ManifestSelection());
        var chosen = result.Entries.ToDictionary(e => e.Dataset, e => e.FileName);

        Assert.Equal("dockets-2024-12-31.csv.bz2", chosen["dockets"]);
        Assert.Equal("opinions-2024-12-31.csv.bz2", chosen["opinions"]);
        Assert.Equal("courts-2025-01-31.csv.bz2", chosen["courts"]);
        Assert.Equal("people_db_race-2024-12-31.csv", chosen["people_db_race"]);
        Assert.Equal("schema-2025-02-01.sql", chosen["schema"]);
        Assert.False(chosen.ContainsKey("investments"));
        Assert.All(result.Entries, e => Assert.False(e.IsStub));
        Assert.Contains(result.Notes, n => n.Contains("bulk-data/dockets-2025-01-31.csv.bz2") && n.Contains("14 bytes") && n.Contains("bulk-data/dockets-2024-12-31.csv.bz2"));
        Assert.Contains(result.Notes, n => n.Contains("bulk-data/opinions-2025-01-31.csv.bz2") && n.Contains("bulk-data/opinions-2024-12-31.csv.bz2"));
        Assert.Contains(result.Notes, n => n.Contains("bulk-data/investments-2025-01-31.csv.bz2") && n.Contains("nothing chosen"));
        // A dataset replaced because of a stub is not noted a second time as missing from the newest dump.
        Assert.DoesNotContain(result.Notes, n => n.StartsWith("Dataset 'dockets' is not in the dump", StringComparison.Ordinal));
    }

    [Fact]
    public void IncludeStub_keeps_the_stubs_marked()
    {
        var result = ManifestSelector.Select(WithStubs, Location, new ManifestSelection { IncludeStub = true });
        var chosen = result.Entries.ToDictionary(e => e.Dataset);

        Assert.Equal("dockets-2025-01-31.csv.bz2", chosen["dockets"].FileName);
        Assert.True(chosen["dockets"].IsStub);
        Assert.True(chosen["investments"].IsStub);
        Assert.False(chosen["courts"].IsStub);
        Assert.Contains(result.Notes, n => n.Contains("bulk-data/dockets-2025-01-31.csv.bz2") && n.Contains("-IncludeStub") && n.Contains("bulk-data/dockets-2024-12-31.csv.bz2"));

        var all = ManifestSelector.Select(WithStubs, Location, new ManifestSelection { AllVersions = true });
        Assert.Equal(WithStubs.Length - 4, all.Entries.Count);
        Assert.Contains(all.Notes, n => n.Contains("Skipped 4 stub(s)"));
        Assert.Equal(WithStubs.Length, ManifestSelector.Select(WithStubs, Location, new ManifestSelection { AllVersions = true, IncludeStub = true }).Entries.Count);
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
