using System.Text;
using BulkData.Engine.Import;
using Npgsql;
using Xunit;

namespace BulkData.Engine.Tests.Import.Schedule;

/// <summary>The schedule of loads and post-data (Import/Schedule) against the real PostgreSQL 15 of the test run.</summary>
public class ScheduleImportTests
{
    private const int OpinionIndexes = 24;

    /// <summary>
    /// A dump of three tables: opinions (large: about <paramref name="opinions"/> rows of 600 bytes), courts and
    /// dockets (small), with a schema whose post-data has keys, indexes (many on opinions) and foreign keys.
    /// </summary>
    private static string MakeDump(int opinions, int orphanOpinions = 0, bool badLastRow = false)
    {
        string dir = Directory.CreateTempSubdirectory("bulkdata-sched-").FullName;
        var schema = new StringBuilder("""
            SET statement_timeout = 0;
            SELECT pg_catalog.set_config('search_path', '', false);
            CREATE TABLE public.search_court (id varchar(15) NOT NULL, full_name text NOT NULL);
            CREATE TABLE public.search_docket (id integer NOT NULL, court_id varchar(15) NOT NULL, case_name text NOT NULL);
            CREATE TABLE public.search_opinion (id integer NOT NULL, docket_id integer NOT NULL, a integer NOT NULL, plain_text text NOT NULL);
            ALTER TABLE ONLY public.search_court ADD CONSTRAINT search_court_pkey PRIMARY KEY (id);
            CREATE INDEX search_court_full_name ON public.search_court USING btree (full_name);
            ALTER TABLE ONLY public.search_docket ADD CONSTRAINT search_docket_pkey PRIMARY KEY (id);
            CREATE INDEX search_docket_court_id ON public.search_docket USING btree (court_id);
            ALTER TABLE ONLY public.search_opinion ADD CONSTRAINT search_opinion_pkey PRIMARY KEY (id);

            """);
        for (int i = 0; i < OpinionIndexes; i++)
        {
            schema.AppendLine($"CREATE INDEX search_opinion_a{i} ON public.search_opinion USING btree ((a + {i}), docket_id);");
        }

        schema.Append("""
            COMMENT ON INDEX public.search_court_full_name IS 'courts by name';
            ALTER TABLE ONLY public.search_docket ADD CONSTRAINT search_docket_court_id_fk FOREIGN KEY (court_id) REFERENCES public.search_court(id) DEFERRABLE INITIALLY DEFERRED;
            ALTER TABLE ONLY public.search_opinion ADD CONSTRAINT search_opinion_docket_id_fk FOREIGN KEY (docket_id) REFERENCES public.search_docket(id) DEFERRABLE INITIALLY DEFERRED;
            """);
        File.WriteAllText(Path.Combine(dir, "schema-2026-09-30.sql"), schema.ToString());
        File.WriteAllText(Path.Combine(dir, "courts-2026-09-30.csv"), "id,full_name\n" + string.Concat(Enumerable.Range(1, 20).Select(i => $"c{i},\"Court {i}\"\n")));
        File.WriteAllText(Path.Combine(dir, "dockets-2026-09-30.csv"), "id,court_id,case_name\n" + string.Concat(Enumerable.Range(1, 200).Select(i => $"{i},c{i % 20 + 1},\"Case {i}\"\n")));
        string text = new('x', 600);
        using var w = new StreamWriter(Path.Combine(dir, "opinions-2026-09-30.csv"));
        w.Write("id,docket_id,a,plain_text\n");
        for (int i = 1; i <= opinions; i++)
        {
            int docket = i <= orphanOpinions ? 100000 + i : i % 200 + 1;
            // Quoted values with newlines, escaped quotes and commas: record boundaries are not line ends.
            w.Write($"{i},{docket},{i * 7 % 1000},\"{text}{i}\nline \\\" two, {i % 13}\n\"\n");
        }

        if (badLastRow)
        {
            w.Write($"{opinions + 1},1,not-a-number,\"x\"\n");
        }

        return dir;
    }

    [SkippableFact]
    public async Task Indexes_start_while_the_largest_table_loads_and_the_throttle_limit_bounds_every_connection()
    {
        string db = ImportTestEnvironment.NewDatabaseName("sched");
        string dir = MakeDump(40000);
        var options = new ImportOptions { Connection = PgConnectionInfo.Create(ImportTestEnvironment.ConnectionStringFor(db)), DatabaseGiven = true, ThrottleLimit = 2 };
        var reporter = new ListReporter();
        using var stop = new CancellationTokenSource();
        int peak = 0, samples = 0;
        var backends = new HashSet<int>();
        var sampler = Task.Run(async () =>
        {
            await using var c = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor("postgres"));
            await c.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                await using var cmd = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'BulkData worker pid %'", c);
                cmd.Parameters.Add(new NpgsqlParameter { Value = db });
                int n = 0;
                await using (var r = await cmd.ExecuteReaderAsync())
                {
                    while (await r.ReadAsync())
                    {
                        n++;
                        backends.Add(r.GetInt32(0));
                    }
                }

                peak = Math.Max(peak, n);
                samples += n > 0 ? 1 : 0;
                await Task.Delay(10);
            }
        });
        try
        {
            var plan = ImportPlan.Build(new[] { new ImportInput(dir) }, options, reporter);
            Assert.Equal("public.search_opinion", plan.Jobs[0].QualifiedTable);
            var results = await new BulkImporter(options, reporter).RunAsync(plan, (_, _) => { }, _ => { }, default);
            stop.Cancel();
            await sampler;
            Assert.All(results, r => Assert.Equal(ImportStatus.Imported, r.Status));

            // Never more worker connections than -ThrottleLimit, sampled on the server; and the samples saw work.
            Assert.True(samples > 5, $"only {samples} samples saw a worker connection");
            Assert.InRange(peak, 1, 2);
            // The same worker connections serve every load and post-data statement (a load with
            // session_replication_role = replica resets it rather than closing its connection): a backend per connection.
            Assert.True(backends.Count <= 2, $"{backends.Count} worker backends seen: {string.Join(", ", backends)}");
            Assert.Contains(reporter.Messages, m => m.Contains("of 2 connection(s) at once", StringComparison.Ordinal));

            string cs = ImportTestEnvironment.ConnectionStringFor(db);
            // The small tables' keys and indexes were built (journalled) before the largest table's load ended.
            var opinionsLoaded = (DateTime)(await ImportTestEnvironment.ScalarAsync(cs, "SELECT loaded_at FROM bulkdata.import_journal WHERE table_name = 'public.search_opinion'"))!;
            var firstCourtStep = (DateTime)(await ImportTestEnvironment.ScalarAsync(cs, "SELECT min(done_at) FROM bulkdata.import_steps WHERE step IN ('post-data line 6', 'post-data line 7')"))!;
            Assert.True(firstCourtStep < opinionsLoaded, $"search_court's key at {firstCourtStep:O}, search_opinion loaded at {opinionsLoaded:O}");
            Assert.Equal(2L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM bulkdata.import_steps WHERE step IN ('post-data line 6', 'post-data line 7') AND done_at < (SELECT loaded_at FROM bulkdata.import_journal WHERE table_name = 'public.search_opinion')"));
            // The comment (not proven safe to run beside others) ran after every index and key.
            Assert.Equal(0L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM bulkdata.import_steps s, bulkdata.import_steps c WHERE c.step = 'post-data line 35' AND s.step ~ '^post-data line ([6-9]|[12][0-9]|3[0-4])$' AND s.done_at > c.done_at"));

            // Everything is there: 3 keys, 2 + 24 indexes, 2 foreign keys validated, the comment, the whole step.
            Assert.Equal((long)(3 + 2 + OpinionIndexes), await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"));
            Assert.Equal(2L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated"));
            Assert.Equal("courts by name", await ImportTestEnvironment.ScalarAsync(cs, "SELECT obj_description('public.search_court_full_name'::regclass, 'pg_class')"));
            Assert.Equal(1L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data'"));
            Assert.Equal(40000L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM public.search_opinion"));
            // The chosen session settings are on -Verbose.
            Assert.Contains(reporter.Messages, m => m.StartsWith("Session settings for 2 connection(s)", StringComparison.Ordinal) && m.Contains("; post-data maintenance_work_mem = "));
        }
        finally
        {
            stop.Cancel();
            await ImportTestEnvironment.DropDatabaseAsync(db);
            Directory.Delete(dir, true);
        }
    }

    private static async Task<(IReadOnlyList<ImportResult> Results, ListReporter Reporter)> ImportAsync(string dir, string db, int throttle, int streams)
    {
        var options = new ImportOptions { Connection = PgConnectionInfo.Create(ImportTestEnvironment.ConnectionStringFor(db)), DatabaseGiven = true, ThrottleLimit = throttle, CopyStreams = streams };
        var reporter = new ListReporter();
        var plan = ImportPlan.Build(new[] { new ImportInput(dir) }, options, reporter);
        return (await new BulkImporter(options, reporter).RunAsync(plan, (_, _) => { }, _ => { }, default), reporter);
    }

    [SkippableFact]
    public async Task The_largest_table_in_three_copy_streams_equals_the_single_stream_load_row_for_row()
    {
        string one = ImportTestEnvironment.NewDatabaseName("sched_one"), three = ImportTestEnvironment.NewDatabaseName("sched_three");
        string dir = MakeDump(5000);
        try
        {
            var (single, _) = await ImportAsync(dir, one, 3, 1);
            var (multi, reporter) = await ImportAsync(dir, three, 3, 3);
            Assert.All(single.Concat(multi), r => Assert.Equal(ImportStatus.Imported, r.Status));
            Assert.Contains(reporter.Messages, m => m.StartsWith("public.search_opinion: 5000 rows from opinions-2026-09-30.csv", StringComparison.Ordinal) && m.Contains("(3 COPY streams: "));
            Assert.Equal(5000, multi.Single(r => r.Table == "public.search_opinion").Rows);
            const string digest = "SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY id)) FROM public.search_opinion t";
            Assert.Equal(await ImportTestEnvironment.ScalarAsync(ImportTestEnvironment.ConnectionStringFor(one), digest), await ImportTestEnvironment.ScalarAsync(ImportTestEnvironment.ConnectionStringFor(three), digest));
            Assert.Equal(5000L, await ImportTestEnvironment.ScalarAsync(ImportTestEnvironment.ConnectionStringFor(three), "SELECT rows FROM bulkdata.import_journal WHERE table_name = 'public.search_opinion'"));
            Assert.Equal((long)(3 + 2 + OpinionIndexes), await ImportTestEnvironment.ScalarAsync(ImportTestEnvironment.ConnectionStringFor(three), "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"));
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(one);
            await ImportTestEnvironment.DropDatabaseAsync(three);
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public async Task A_stream_that_fails_leaves_the_table_empty_and_not_journalled_with_the_line_named()
    {
        string db = ImportTestEnvironment.NewDatabaseName("sched_bad");
        string dir = MakeDump(3000, badLastRow: true);
        try
        {
            var (results, reporter) = await ImportAsync(dir, db, 3, 3);
            var opinions = results.Single(r => r.Table == "public.search_opinion");
            Assert.Equal(ImportStatus.Failed, opinions.Status);
            // The one-stream reload names the file's own line (3000 records of 3 lines, the header: line 9002).
            Assert.Contains("line 9002", opinions.Error);
            Assert.Contains(reporter.Messages, m => m.StartsWith("public.search_opinion: the load in 3 streams stopped", StringComparison.Ordinal));
            string cs = ImportTestEnvironment.ConnectionStringFor(db);
            Assert.Equal(0L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM public.search_opinion"));
            Assert.Equal(0L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM bulkdata.import_journal WHERE table_name = 'public.search_opinion'"));
            Assert.Equal(ImportStatus.Imported, results.Single(r => r.Table == "public.search_docket").Status);
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public async Task A_run_stopped_in_post_data_resumes_after_the_jobs_done_and_orphans_leave_only_their_key_not_valid()
    {
        string db = ImportTestEnvironment.NewDatabaseName("sched_kill");
        string dir = MakeDump(6000, orphanOpinions: 3);
        var options = new ImportOptions
        {
            Connection = PgConnectionInfo.Create(ImportTestEnvironment.ConnectionStringFor(db)), DatabaseGiven = true, ThrottleLimit = 2,
            SessionSettings = new Dictionary<string, string> { ["maintenance_work_mem"] = "70MB" },
        };
        try
        {
            using var cts = new CancellationTokenSource();
            // Stop the run at an exact point: every table loaded (the overall bar says so when the last one is
            // committed and journalled), then a post-data statement starting with at least 3 done and many still to
            // do. (Polling the journal instead raced a fast run to its end.)
            bool tablesIn = false;
            var reporter = new ListReporter
            {
                OnProgress = u =>
                {
                    var t = System.Text.RegularExpressions.Regex.Match(u.Status, @"^(\d+) of (\d+) tables done");
                    if (t.Success && t.Groups[1].Value == t.Groups[2].Value)
                    {
                        Volatile.Write(ref tablesIn, true);
                    }

                    var m = System.Text.RegularExpressions.Regex.Match(u.Status, @"^(\d+) of (\d+) statements done");
                    if (Volatile.Read(ref tablesIn) && m.Success && int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 3)
                    {
                        cts.Cancel();
                    }
                },
            };
            var plan = ImportPlan.Build(new[] { new ImportInput(dir) }, options, reporter);
            string cs = ImportTestEnvironment.ConnectionStringFor(db);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new BulkImporter(options, reporter).RunAsync(plan, (_, _) => { }, _ => { }, cts.Token));
            long doneBefore = Convert.ToInt64(await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM bulkdata.import_steps WHERE step LIKE 'post-data line %'"));
            Assert.Equal(0L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data'"));
            // Every job recorded as done is there; the session setting was used.
            Assert.True(doneBefore >= 3);
            Assert.Contains(reporter.Messages, m => m.Contains("maintenance_work_mem = 70MB"));

            var again = new ListReporter();
            var results = await new BulkImporter(options, again).RunAsync(plan, (_, _) => { }, _ => { }, default);
            Assert.All(results.Where(r => r.Table != BulkImporter.SchemaResultTable), r => Assert.Equal(ImportStatus.Skipped, r.Status));
            Assert.Contains(again.Messages, m => m.Contains($"{doneBefore} done by an earlier run", StringComparison.Ordinal));
            Assert.Equal((long)(3 + 2 + OpinionIndexes), await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"));
            Assert.Equal(1L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data'"));

            // The opinions' 3 orphans: their key is NOT VALID, reported; the other key is validated.
            Assert.Equal(false, await ImportTestEnvironment.ScalarAsync(cs, "SELECT convalidated FROM pg_constraint WHERE conname = 'search_opinion_docket_id_fk'"));
            Assert.Equal(true, await ImportTestEnvironment.ScalarAsync(cs, "SELECT convalidated FROM pg_constraint WHERE conname = 'search_docket_court_id_fk'"));
            var orphans = Assert.Single(results.Single(r => r.Table == BulkImporter.SchemaResultTable).Orphans);
            Assert.Equal(3, orphans.Count);
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
            Directory.Delete(dir, true);
        }
    }
}
