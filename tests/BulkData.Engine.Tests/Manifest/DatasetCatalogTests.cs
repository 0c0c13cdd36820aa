using BulkData.Engine.Manifest;
using Xunit;

namespace BulkData.Engine.Tests.Manifest;

public class DatasetCatalogTests
{
    [Fact]
    public void Holds_the_33_tables_the_exporter_lists_under_the_file_names_it_writes()
    {
        var exporter = ExporterTables.All.ToList();
        Assert.Equal(33, DatasetCatalog.All.Count);
        Assert.Equal(exporter.Select(t => t.Table).Order(), DatasetCatalog.All.Select(e => e.Table).Order());
        foreach (var (table, prefix, _) in exporter)
        {
            Assert.Equal(prefix, DatasetCatalog.Find(table)!.FilePrefix);
            foreach (var ext in new[] { ".csv", ".csv.bz2" })
            {
                var name = DumpFileName.TryParse($"{prefix}-2026-06-30{ext}");
                Assert.NotNull(name);
                Assert.Equal(EntryKind.Data, name!.Kind);
                Assert.Equal(table, DatasetCatalog.TableFor(name.Dataset));
            }
        }
    }

    [Theory]
    // The person-to-race links and the race lookup are two tables.
    [InlineData("people-db-races-2026-06-30.csv.bz2", "people-db-races", "people_db_person_race")]
    [InlineData("people_db_race-2026-06-30.csv.bz2", "people_db_race", "people_db_race")]
    [InlineData("people_db_person_race-2023-12-04.csv", "people-db-races", "people_db_person_race")]
    [InlineData("unmatched-citations-2026-09-30.csv.bz2", "unmatched-citations", "citations_unmatchedcitation")]
    // Named after their tables, as the exporter writes them.
    [InlineData("search_opinioncluster_panel-2024-12-31.csv", "search-opinioncluster-panel", "search_opinioncluster_panel")]
    [InlineData("search_opinion_joined_by-2026-06-30.csv.bz2", "search-opinion-joined-by", "search_opinion_joined_by")]
    [InlineData("search_opinioncluster_non_participating_judges-2026-06-30.csv", "search-opinioncluster-non-participating-judges", "search_opinioncluster_non_participating_judges")]
    [InlineData("recap_fjcintegrateddatabase-2024-07-31.csv.bz2", "fjc-integrated-database", "recap_fjcintegrateddatabase")]
    [InlineData("search_docket-2024-07-31.csv.bz2", "dockets", "search_docket")]
    // The exporter's misnamed table of 2025-05 to 2026-06.
    [InlineData("citations_unmatchedcitations-2025-06-30.csv", "unmatched-citations", "citations_unmatchedcitation")]
    public void Every_name_the_publisher_used_maps_to_its_table(string file, string dataset, string table)
    {
        var name = DumpFileName.TryParse(file)!;
        Assert.Equal(dataset, name.Dataset);
        Assert.Equal(table, DatasetCatalog.TableFor(name.Dataset));
    }

    [Fact]
    public void The_misnamed_table_of_the_load_scripts_is_corrected_and_real_names_are_left_alone()
    {
        Assert.Equal("citations_unmatchedcitation", DatasetCatalog.CorrectTable("citations_unmatchedcitations"));
        Assert.Equal("people_db_race", DatasetCatalog.CorrectTable("people_db_race"));
        Assert.Equal("my_table", DatasetCatalog.CorrectTable("my_table"));
        Assert.Null(DatasetCatalog.TableFor("people-db-person-race"));
        Assert.Equal("people_db_person_race-2026-06-30.csv.bz2".Replace("people_db_person_race", "people-db-races"), DatasetCatalog.Find("people_db_person_race")!.FileName(new DateTime(2026, 6, 30)));
    }
}
