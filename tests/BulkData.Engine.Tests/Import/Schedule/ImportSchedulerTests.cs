using System.Threading.Channels;
using BulkData.Engine.Import.Schedule;
using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Xunit;

namespace BulkData.Engine.Tests.Import.Schedule;

public class ImportSchedulerTests
{
    private static TableJob Job(string table, long bytes) => new()
    {
        Schema = "public", Table = table, FilePath = $"/nowhere/{table}.csv", Bytes = bytes, Dialect = CopyDialect.Escape,
    };

    private static readonly IReadOnlyList<SqlStatement> PostData = SqlScriptSplitter.Split("""
        ALTER TABLE ONLY public.big ADD CONSTRAINT big_pkey PRIMARY KEY (id);
        CREATE INDEX big_a ON public.big USING btree (a);
        CREATE INDEX big_b ON public.big USING btree (b);
        ALTER TABLE ONLY public.small ADD CONSTRAINT small_pkey PRIMARY KEY (id);
        CREATE INDEX small_a ON public.small USING btree (a);
        COMMENT ON INDEX public.small_a IS 'x';
        ALTER TABLE ONLY public.big ADD CONSTRAINT big_small_fk FOREIGN KEY (small_id) REFERENCES public.small(id);
        CREATE TRIGGER t AFTER INSERT ON public.big FOR EACH ROW EXECUTE FUNCTION f();
        """);

    [Fact]
    public async Task Loads_and_jobs_share_the_limit_keys_have_their_table_alone_and_serial_jobs_come_last_in_order()
    {
        var jobs = PostDataJobs.Build(PostData);
        var tables = Channel.CreateUnbounded<TableJob>();
        var log = new List<string>();
        int inUse = 0, peak = 0;
        var gate = new object();
        var bigLoad = new TaskCompletionSource();
        var running = new Dictionary<string, int>(StringComparer.Ordinal);
        void Enter(string what, int n)
        {
            lock (gate)
            {
                inUse += n;
                peak = Math.Max(peak, inUse);
                log.Add("start " + what);
            }
        }

        void Leave(string what, int n)
        {
            lock (gate)
            {
                inUse -= n;
                log.Add("end " + what);
            }
        }

        var input = new ScheduleInput
        {
            Tables = tables.Reader,
            PendingTables = new[] { "public.big", "public.small" },
            PostData = jobs,
            StreamsFor = j => j.Table == "big" ? 2 : 1,
            TableWeight = t => t == "public.big" ? 100 : 1,
        };
        var run = new ImportScheduler(3).RunAsync(input, async (job, streams, ct) =>
        {
            Enter(job.Table, streams);
            if (job.Table == "big")
            {
                await bigLoad.Task;
            }

            await Task.Delay(5, ct);
            Leave(job.Table, streams);
            return true;
        }, async (job, ct) =>
        {
            Enter(job.Id, 1);
            await Task.Delay(10, ct);
            Leave(job.Id, 1);
        }, default);

        // Tables arrive over time: the big one first (two streams), the small one later.
        tables.Writer.TryWrite(Job("big", 100));
        await Task.Delay(50);
        tables.Writer.TryWrite(Job("small", 1));
        tables.Writer.Complete();
        // The small table's key and index run while the big table still loads.
        for (int i = 0; i < 200 && !log.Contains("end line 5"); i++)
        {
            await Task.Delay(10);
        }

        lock (gate)
        {
            Assert.Contains("end line 4", log);
            Assert.Contains("end line 5", log);
            Assert.DoesNotContain("end big", log);
        }

        bigLoad.SetResult();
        var outcome = await run;
        Assert.True(outcome.PostDataComplete);
        Assert.Equal(0, outcome.FailedTables);
        Assert.InRange(peak, 1, 3);
        Assert.Equal(peak, outcome.PeakConnections);
        int Pos(string s) => log.IndexOf(s);
        // The key has its table alone: no index build of big overlaps it.
        Assert.True(Pos("end line 1") < Pos("start line 2") || Pos("end line 2") < Pos("start line 1"));
        Assert.True(Pos("end line 1") < Pos("start line 3") || Pos("end line 3") < Pos("start line 1"));
        // The foreign key after the keys of both tables; its validation after it; serial jobs last, in order.
        Assert.True(Pos("start line 7") > new[] { 1, 2, 3, 4, 5 }.Max(n => Pos($"end line {n}")));
        Assert.True(Pos("start line 7:validate") > Pos("end line 7"));
        Assert.True(Pos("start line 6") > Pos("end line 7:validate"));
        Assert.True(Pos("start line 8") > Pos("end line 6"));
    }

    [Fact]
    public async Task A_failed_table_stops_new_post_data_jobs_and_no_job_on_it_runs()
    {
        var jobs = PostDataJobs.Build(PostData);
        var tables = Channel.CreateUnbounded<TableJob>();
        tables.Writer.TryWrite(Job("big", 100));
        tables.Writer.TryWrite(Job("small", 1));
        tables.Writer.Complete();
        var ran = new List<string>();
        var outcome = await new ImportScheduler(1).RunAsync(
            new ScheduleInput { Tables = tables.Reader, PendingTables = new[] { "public.big", "public.small" }, PostData = jobs },
            (job, _, _) => Task.FromResult(job.Table != "big"),
            (job, _) =>
            {
                lock (ran)
                {
                    ran.Add(job.Id);
                }

                return Task.CompletedTask;
            },
            default);
        Assert.Equal(1, outcome.FailedTables);
        Assert.Empty(ran);
        Assert.False(outcome.PostDataComplete);
    }

    [Fact]
    public void The_largest_table_gets_its_share_of_the_connections_leaving_one_to_the_others()
    {
        var jobs = new[] { Job("opinions", 71L << 20), Job("dockets", 11L << 20), Job("rest", 18L << 20) };
        Assert.Equal(12, CopyStreams.For(jobs[0], jobs, 16, 0));
        Assert.Equal(1, CopyStreams.For(jobs[0], jobs, 2, 0));
        Assert.Equal(1, CopyStreams.For(jobs[1], jobs, 16, 0));
        // Small files load in one stream unless forced.
        var small = new[] { Job("opinions", 10L << 20), Job("dockets", 1L << 20) };
        Assert.Equal(1, CopyStreams.For(small[0], small, 16, 0));
        Assert.Equal(3, CopyStreams.For(small[0], small, 3, 4));
    }

    [Fact]
    public void Session_settings_share_the_cores_and_memory_between_the_connections()
    {
        const long MB = 1024 * 1024;
        // 2 cores, 2 connections: no parallel workers; a quarter of 23.5 GB over 2 connections, capped at 2 GB.
        var two = MaintenanceSettings.Choose(new ServerFacts(8, 8, 256 * MB, 64 * MB, 24064 * MB, 2), 2);
        Assert.Equal("0", two[MaintenanceSettings.Workers]);
        Assert.Equal("2048MB", two[MaintenanceSettings.WorkMem]);
        // 16 cores, 4 connections: 3 spare cores each, bounded by max_parallel_workers 8 / 4 = 2.
        var sixteen = MaintenanceSettings.Choose(new ServerFacts(16, 8, 4096 * MB, 64 * MB, 64 * 1024 * MB, 16), 4);
        Assert.Equal("2", sixteen[MaintenanceSettings.Workers]);
        // A remote server: RAM from shared_buffers (x 4), cores from max_parallel_workers; never below its own setting.
        var remote = MaintenanceSettings.Choose(new ServerFacts(8, 8, 1024 * MB, 512 * MB, null, null), 4);
        Assert.Equal("512MB", remote[MaintenanceSettings.WorkMem]);
        Assert.Equal("1", remote[MaintenanceSettings.Workers]);
        // Loads: lz4 only where the server has it and nobody chose the setting.
        Assert.Equal("lz4", MaintenanceSettings.ChooseLoad(new ServerFacts(8, 8, 256 * MB, 64 * MB, null, null, "default", true))[MaintenanceSettings.ToastCompression]);
        Assert.Empty(MaintenanceSettings.ChooseLoad(new ServerFacts(8, 8, 256 * MB, 64 * MB, null, null, "configuration file", true)));
        Assert.Empty(MaintenanceSettings.ChooseLoad(new ServerFacts(8, 8, 256 * MB, 64 * MB, null, null, "default", false)));
        Assert.Empty(MaintenanceSettings.ChooseLoad(new ServerFacts(8, 8, 256 * MB, 64 * MB, null, null, null, false)));
        // A superuser's connections wait at most 100 ms for an autovacuum to give way (only a superuser may set it).
        var super = new ServerFacts(8, 8, 256 * MB, 64 * MB, null, null, "default", true, Superuser: true);
        Assert.Equal("100ms", MaintenanceSettings.ChooseLoad(super)[MaintenanceSettings.DeadlockTimeout]);
        Assert.Equal("100ms", MaintenanceSettings.Choose(super, 2)[MaintenanceSettings.DeadlockTimeout]);
        Assert.False(two.ContainsKey(MaintenanceSettings.DeadlockTimeout));
        Assert.True(MaintenanceSettings.IsLocalHost("127.0.0.1"));
        Assert.True(MaintenanceSettings.IsLocalHost("/var/run/postgresql"));
        Assert.False(MaintenanceSettings.IsLocalHost("db.example.org"));
    }

    [Fact]
    public async Task A_table_that_arrives_later_holds_back_its_post_data_and_one_that_never_comes_is_released_when_the_channel_completes()
    {
        // "big" arrives while the run goes on (a file still downloading); "small" is named but its file never comes.
        var jobs = PostDataJobs.Build(SqlScriptSplitter.Split("""
            CREATE INDEX big_a ON public.big USING btree (a);
            CREATE INDEX small_a ON public.small USING btree (a);
            """));
        var tables = Channel.CreateUnbounded<TableJob>();
        var log = new List<string>();
        var input = new ScheduleInput { Tables = tables.Reader, PendingTables = new[] { "public.big", "public.small" }, PostData = jobs };
        var run = new ImportScheduler(2).RunAsync(input, async (job, streams, ct) =>
        {
            await Task.Delay(5, ct);
            lock (log)
            {
                log.Add("loaded " + job.Table);
            }

            return true;
        }, (job, ct) =>
        {
            lock (log)
            {
                log.Add("post " + job.Statement.Text.Trim().Split(' ')[2]);
            }

            return Task.CompletedTask;
        }, CancellationToken.None);

        await Task.Delay(200);
        lock (log)
        {
            Assert.Empty(log); // nothing has arrived, nothing is built on an empty table
        }

        tables.Writer.TryWrite(Job("big", 10));
        for (int i = 0; i < 200 && !log.Contains("post big_a"); i++)
        {
            await Task.Delay(10);
        }

        lock (log)
        {
            Assert.Equal(new[] { "loaded big", "post big_a" }, log);
        }

        tables.Writer.Complete();
        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(new[] { "loaded big", "post big_a", "post small_a" }, log);
        Assert.True(outcome.PostDataComplete);
        Assert.Equal(0, outcome.FailedTables);
    }
}
