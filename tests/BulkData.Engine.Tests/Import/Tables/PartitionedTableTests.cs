using BulkData.Engine.Import;
using Xunit;

namespace BulkData.Engine.Tests.Import.Tables;

/// <summary>
/// A table that a user partitioned in their own copy (a partitioned parent whose rows live in its partitions) loads
/// like a plain one: COPY into the parent routes each row, and the load's check of rows against CSV records counts
/// them over the partition tree (the parent's own insert count is 0).
/// </summary>
public class PartitionedTableTests
{
    [SkippableFact]
    public async Task A_partitioned_table_is_loaded_and_reloaded_and_its_rows_are_counted_over_its_partitions()
    {
        await using var db = await ScratchDatabase.CreateAsync("imp_parted");
        string cs = db.ConnectionString;
        await ImportTestEnvironment.ExecAsync(cs, """
            CREATE TABLE public.search_docket (id integer NOT NULL, court_id varchar(15) NOT NULL, case_name text NOT NULL) PARTITION BY RANGE (id);
            CREATE TABLE public.search_docket_low PARTITION OF public.search_docket FOR VALUES FROM (MINVALUE) TO (1000);
            CREATE TABLE public.search_docket_mid PARTITION OF public.search_docket FOR VALUES FROM (1000) TO (2000) PARTITION BY LIST (court_id);
            CREATE TABLE public.search_docket_mid_rest PARTITION OF public.search_docket_mid DEFAULT;
            CREATE TABLE public.search_docket_high PARTITION OF public.search_docket DEFAULT;
            """);
        await File.WriteAllTextAsync(Path.Combine(db.Dir, "dockets-2026-09-30.csv"), "id,court_id,case_name\n" + string.Concat(Enumerable.Range(1, 3000).Select(i => $"{i},c{i % 20},\"Case {i}\nsecond line\"\n")));
        var options = new ImportOptions { Connection = PgConnectionInfo.Create(cs), DatabaseGiven = true, ThrottleLimit = 2 };
        for (int run = 0; run < 2; run++)
        {
            // The second run reloads the table that holds rows (-Force): emptied and loaded again in one transaction.
            var r = Assert.Single(await db.ImportAsync(options with { Force = run > 0 }));
            Assert.True(r.Status == ImportStatus.Imported, $"{r.Table}: {r.Status} {r.Error}");
            Assert.Equal(3000, r.Rows);
            Assert.Equal(3000L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM public.search_docket"));
            Assert.Equal(999L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM ONLY public.search_docket_low"));
            Assert.Equal(1000L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM public.search_docket_mid_rest"));
            Assert.Equal(1001L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM public.search_docket_high"));
            Assert.Equal(3000L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT rows FROM bulkdata.import_journal WHERE table_name = 'public.search_docket'"));
        }
    }
}
