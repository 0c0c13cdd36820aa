using BulkData.Engine.Import;
using Npgsql;
using Xunit;

namespace BulkData.Engine.Tests.Import.Tables;

/// <summary>
/// COPY ... FREEZE in the single-stream load: used for a plain table that the load's transaction emptied with
/// TRUNCATE (its rows are written frozen: every page all-frozen in the visibility map), not for a table emptied with
/// DELETE (referenced by a foreign key: FREEZE needs the table emptied by TRUNCATE or created in the same transaction).
/// </summary>
public class CopyFreezeTests
{
    [SkippableFact]
    public async Task Truncated_tables_are_loaded_frozen_and_deleted_ones_are_not()
    {
        await using var db = await ScratchDatabase.CreateAsync("imp_freeze");
        string dir = db.Dir;
        string cs = db.ConnectionString;
        await ImportTestEnvironment.ExecAsync(cs, """
            CREATE EXTENSION pg_visibility;
            CREATE TABLE public.search_court (id varchar(15) PRIMARY KEY, full_name text NOT NULL);
            CREATE TABLE public.search_docket (id integer PRIMARY KEY, court_id varchar(15) NOT NULL REFERENCES public.search_court (id), case_name text NOT NULL);
            """);
        // Enough rows for several pages each, so "every page frozen" is not one page's luck.
        await File.WriteAllTextAsync(Path.Combine(dir, "courts-2026-09-30.csv"), "id,full_name\n" + string.Concat(Enumerable.Range(1, 2000).Select(i => $"c{i},\"Court {i}, of somewhere\"\n")));
        await File.WriteAllTextAsync(Path.Combine(dir, "dockets-2026-09-30.csv"), "id,court_id,case_name\n" + string.Concat(Enumerable.Range(1, 3000).Select(i => $"{i},c{(i % 2000) + 1},\"Case \\\"{i}\\\"\nsecond line\"\n")));
        var options = new ImportOptions { Connection = PgConnectionInfo.Create(cs), DatabaseGiven = true, ThrottleLimit = 2 };

        for (int run = 0; run < 2; run++)
        {
            // The second run reloads tables that hold rows (-Force): TRUNCATE empties them in the load's transaction again.
            var reporter = new ListReporter();
            var results = await db.ImportAsync(options with { Force = run > 0 }, reporter);
            Assert.All(results, r => Assert.True(r.Status == ImportStatus.Imported, $"{r.Table}: {r.Status} {r.Error}"));
            Assert.Equal(3000, results.Single(r => r.Table == "public.search_docket").Rows);
            Assert.Equal(2000, results.Single(r => r.Table == "public.search_court").Rows);

            string Copy(string table) => Assert.Single(reporter.Messages, m => m.StartsWith($"{table}: COPY ", StringComparison.Ordinal));
            Assert.EndsWith(", FREEZE) <- dockets-2026-09-30.csv", Copy("public.search_docket"));
            Assert.DoesNotContain("FREEZE", Copy("public.search_court"));

            // What FREEZE does on the server: every page of the docket table all-visible and all-frozen at once.
            Assert.True((long)(await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM pg_visibility_map('public.search_docket')"))! >= 3);
            Assert.Equal(true, await ImportTestEnvironment.ScalarAsync(cs, "SELECT bool_and(all_visible AND all_frozen) FROM pg_visibility_map('public.search_docket')"));
            Assert.Equal(false, await ImportTestEnvironment.ScalarAsync(cs, "SELECT bool_or(all_frozen) FROM pg_visibility_map('public.search_court')"));
            Assert.Equal(3000L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM public.search_docket WHERE case_name LIKE 'Case \"%\"' || chr(10) || 'second line'"));
        }
    }
}
