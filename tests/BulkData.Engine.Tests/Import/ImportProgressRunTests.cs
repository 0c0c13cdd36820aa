using System.Text;
using BulkData.Engine.Import;
using Npgsql;
using Xunit;

namespace BulkData.Engine.Tests.Import;

/// <summary>The progress records an import writes (issue 13 item 4): a child bar per table, and both sides on the overall bar.</summary>
public class ImportProgressRunTests
{
    [SkippableFact]
    public async Task A_run_shows_each_table_on_a_child_bar_and_the_csv_decoded_and_loaded_on_both()
    {
        ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("imp_prog");
        string dir = Directory.CreateTempSubdirectory("bulkdata-prog-").FullName;
        string admin = ImportTestEnvironment.ConnectionStringFor("postgres");
        await using (var c = new NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            await new NpgsqlCommand($"CREATE DATABASE {db}", c).ExecuteNonQueryAsync();
        }

        try
        {
            string cs = ImportTestEnvironment.ConnectionStringFor(db);
            await using (var c = new NpgsqlConnection(cs))
            {
                await c.OpenAsync();
                await new NpgsqlCommand("CREATE TABLE public.search_docket (id integer PRIMARY KEY, court_id text NOT NULL, case_name text NOT NULL)", c).ExecuteNonQueryAsync();
            }

            // About 4 MB of CSV: several chunks go to COPY after the header's.
            var csv = new StringBuilder("id,court_id,case_name\n");
            for (int i = 1; i <= 40_000; i++)
            {
                csv.Append(i).Append(",scotus,\"Case number ").Append(i).Append(" of a docket with a long enough name to fill the file\"\n");
            }

            string path = Path.Combine(dir, "dockets-2026-09-30.csv");
            await File.WriteAllTextAsync(path, csv.ToString());
            long csvBytes = new FileInfo(path).Length;

            var options = new ImportOptions { Connection = PgConnectionInfo.Create(cs), DatabaseGiven = true, ThrottleLimit = 2 };
            var reporter = new ListReporter();
            using var plan = ImportPlan.Build(new[] { new ImportInput(dir) }, options, reporter);
            var results = await new BulkImporter(options, reporter).RunAsync(plan, (_, _) => { }, _ => { }, default);
            var table = Assert.Single(results);
            Assert.Equal(ImportStatus.Imported, table.Status);
            Assert.Equal(40_000, table.Rows);
            Assert.Equal(csvBytes, table.DecodedBytes);

            var overall = reporter.Updates.First(u => u.Activity.StartsWith("Importing into ", StringComparison.Ordinal));
            var child = reporter.Updates.Where(u => u.Activity == "public.search_docket (dockets-2026-09-30.csv)").ToList();
            Assert.NotEmpty(child);
            Assert.All(child, u => Assert.Equal(overall.ActivityId, u.ParentActivityId));
            Assert.Contains(child, u => !u.Completed && u.Status.Contains(" read", StringComparison.Ordinal) && u.Status.Contains(" of CSV decoded and loaded", StringComparison.Ordinal) && u.PercentComplete is >= 0 and <= 100);
            Assert.True(child[^1].Completed, "the table's bar is completed when its load ends");
            Assert.DoesNotContain(child, u => u.Status.Contains("received", StringComparison.Ordinal));

            // The overall bar's status as the table ends: every CSV byte decoded and loaded, in total.
            var end = reporter.Updates.Last(u => u.ActivityId == overall.ActivityId && u.CurrentOperation == "public.search_docket done");
            Assert.StartsWith("1 of 1 tables done; ", end.Status, StringComparison.Ordinal);
            Assert.Contains($"; {ByteSize.Format(csvBytes)} of CSV decoded and loaded", end.Status, StringComparison.Ordinal);
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
            Directory.Delete(dir, true);
        }
    }
}
