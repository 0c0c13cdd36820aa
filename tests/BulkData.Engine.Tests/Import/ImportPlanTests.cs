using BulkData.Engine.Import;
using BulkData.TestKit;
using Xunit;

namespace BulkData.Engine.Tests.Import;

/// <summary>Planning a folder as the publisher fills it: no database needed.</summary>
public sealed class ImportPlanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bulkdata-plan-").FullName;
    private readonly RecordingReporter _reporter = new();

    public void Dispose() => Directory.Delete(_dir, true);

    private void Write(string name, string text = "id\n1\n") => File.WriteAllText(Path.Combine(_dir, name), text);

    private ImportPlan Plan() => ImportPlan.Build(new[] { new ImportInput(_dir) },
        new ImportOptions { Connection = PgConnectionInfo.Create("Host=127.0.0.1;Username=nobody"), DatabaseGiven = true }, _reporter);

    [Fact]
    public void The_race_lookup_and_the_person_race_links_are_two_tables_both_imported()
    {
        Write("people_db_race-2026-06-30.csv", "id,race\n1,w\n");
        Write("people-db-races-2026-06-30.csv", "id,person_id,race_id\n1,1,1\n");

        var plan = Plan();

        Assert.Empty(plan.Unplanned);
        Assert.Equal(new[] { "people_db_person_race", "people_db_race" }, plan.Jobs.Select(j => j.Table).Order());
        Assert.Empty(_reporter.Warnings);
    }

    [Fact]
    public void Two_files_of_one_dump_for_one_table_are_an_error_naming_both_and_neither_is_planned()
    {
        Write("search_opinioncluster_panel-2026-06-30.csv");
        Write("search-opinioncluster-panel-2026-06-30.csv.bz2", "");
        Write("courts-2026-06-30.csv");

        var plan = Plan();

        Assert.Equal(new[] { "search_court" }, plan.Jobs.Select(j => j.Table));
        Assert.Equal(2, plan.Unplanned.Count);
        Assert.All(plan.Unplanned, r =>
        {
            Assert.Equal(ImportStatus.Failed, r.Status);
            Assert.Equal("public.search_opinioncluster_panel", r.Table);
            Assert.Contains("search_opinioncluster_panel-2026-06-30.csv", r.Error);
            Assert.Contains(" and ", r.Error);
            Assert.Contains("search-opinioncluster-panel-2026-06-30.csv.bz2", r.Error);
            Assert.Contains("2026-06-30", r.Error);
        });
    }

    [Fact]
    public void The_same_export_compressed_and_not_is_one_file_and_an_older_dump_gives_way_with_a_warning()
    {
        Write("dockets-2026-06-30.csv");
        Write("dockets-2026-06-30.csv.bz2", "");
        Write("dockets-2026-03-31.csv.bz2", "");
        Write("opinions-2025-12-31.csv");
        Write("opinions-2026-06-30.csv");

        var plan = Plan();

        Assert.Empty(plan.Unplanned);
        Assert.Equal(new[] { "dockets-2026-06-30.csv.bz2", "opinions-2026-06-30.csv" }, plan.Jobs.Select(j => j.FileName).Order(StringComparer.Ordinal));
        Assert.Contains(_reporter.Warnings, m => m.Contains("dockets-2026-03-31.csv.bz2") && m.Contains("newer"));
        Assert.Contains(_reporter.Warnings, m => m.Contains("opinions-2025-12-31.csv"));
        Assert.Equal(2, _reporter.Warnings.Count);
    }

    [Fact]
    public void The_exporters_load_script_gives_every_table_its_columns_and_dialect_and_the_misnamed_table_is_corrected()
    {
        var tables = ExporterTables.All.ToList();
        foreach (var (_, prefix, columns) in tables)
        {
            Write($"{prefix}-2026-06-30.csv", string.Join(",", columns) + "\n");
        }

        // The misnamed table of 2025-05 to 2026-06, as its load scripts named it.
        var scriptTables = tables.Select(t => new LoadScriptTable(t.Table == "citations_unmatchedcitation" ? "citations_unmatchedcitations" : t.Table, t.Columns, $"{t.Prefix}-2026-06-30.csv"));
        File.WriteAllText(Path.Combine(_dir, "load-bulk-data-2026-07-01.sh"), LoadScriptWriter.Render(Dialect.Backtick, "schema-2026-07-01.sql", scriptTables, LoadScriptStyle.Exporter));

        var plan = Plan();

        Assert.Empty(plan.Unplanned);
        Assert.Equal(33, plan.Jobs.Count);
        foreach (var (table, prefix, columns) in tables)
        {
            var job = Assert.Single(plan.Jobs, j => j.Table == table);
            Assert.Equal("LoadScript", job.Source);
            Assert.Equal(columns, job.ScriptColumns);
            Assert.Equal("Backtick", job.Dialect.Name);
            Assert.Equal($"{prefix}-2026-06-30.csv", job.FileName);
        }
    }
}
