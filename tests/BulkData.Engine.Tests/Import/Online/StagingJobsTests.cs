using System.Threading.Channels;
using BulkData.Engine.Import;
using BulkData.Engine.Import.Schedule;
using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Xunit;

namespace BulkData.Engine.Tests.Import.Online;

/// <summary>-Online's build steps as jobs of the import's one schedule (ImportScheduler).</summary>
public class StagingJobsTests
{
    private static LiveTable Court() => new(
        "public", "search_court", "\"public\".\"search_court\"", "django", Array.Empty<string>(), null, Array.Empty<string>(),
        new[] { new DefinedObject("search_court_name_idx", "index", "CREATE INDEX search_court_name_idx ON public.search_court USING btree (name)", true) },
        new[] { new DefinedObject("search_court_pkey", "p", "PRIMARY KEY (id)", true) },
        Array.Empty<DefinedObject>(), Array.Empty<DefinedObject>(), Array.Empty<OwnedSequence>(), Array.Empty<string>())
    { DefName = "public.search_court" };

    private static LiveTable Docket() => new(
        "public", "search_docket", "\"public\".\"search_docket\"", "django", Array.Empty<string>(), null, Array.Empty<string>(),
        new[] { new DefinedObject("search_docket_court_id_idx", "index", "CREATE INDEX search_docket_court_id_idx ON public.search_docket USING btree (court_id)", true) },
        new[] { new DefinedObject("search_docket_pkey", "p", "PRIMARY KEY (id)", true), new DefinedObject("positive", "c", "CHECK ((id > 0))", true) },
        new[]
        {
            new DefinedObject("search_docket_court_id_fk", "f", "FOREIGN KEY (court_id) REFERENCES public.search_court(id)", true, "public.search_court"),
            new DefinedObject("search_docket_user_fk", "f", "FOREIGN KEY (user_id) REFERENCES public.auth_user(id)", false, "public.auth_user"),
        },
        new[]
        {
            new DefinedObject("t1", "trigger", "CREATE TRIGGER t1 AFTER UPDATE ON public.search_docket FOR EACH ROW EXECUTE FUNCTION public.f()", true, null, Disabled: true),
        },
        Array.Empty<OwnedSequence>(), Array.Empty<string>())
    { DefName = "public.search_docket" };

    [Fact]
    public void Jobs_name_the_live_tables_and_depend_as_a_fresh_imports_post_data_does()
    {
        var jobs = StagingJobs.Build("bulkdata_stage_7", new[] { Court(), Docket() });
        var byId = jobs.ToDictionary(j => j.Job.Id, j => j.Job);
        Assert.Equal(
            new[]
            {
                "public.search_court index search_court_name_idx", "public.search_court key search_court_pkey",
                "public.search_docket index search_docket_court_id_idx", "public.search_docket key search_docket_pkey", "public.search_docket check positive",
                "public.search_docket foreign key search_docket_court_id_fk", "public.search_docket foreign key search_docket_user_fk",
                "public.search_docket foreign key search_docket_court_id_fk:validate",
                "public.search_docket trigger t1", "public.search_docket trigger state t1",
            },
            jobs.Select(j => j.Job.Id));

        Assert.Equal(PostDataJobKind.Index, byId["public.search_court index search_court_name_idx"].Kind);
        Assert.Equal(PostDataJobKind.Key, byId["public.search_docket check positive"].Kind);
        Assert.All(jobs.Where(j => j.Job.Kind is PostDataJobKind.Index or PostDataJobKind.Key), j => Assert.Empty(j.Job.DependsOn));
        Assert.Equal("public.search_court", byId["public.search_court key search_court_pkey"].Table);

        // A foreign key to a staged parent waits for every index and key of both tables; one to a live parent for its own table's.
        var fk = byId["public.search_docket foreign key search_docket_court_id_fk"];
        Assert.Equal(PostDataJobKind.ForeignKey, fk.Kind);
        Assert.Equal("public.search_court", fk.References);
        Assert.Equal(
            new[] { "public.search_docket index search_docket_court_id_idx", "public.search_docket key search_docket_pkey", "public.search_docket check positive", "public.search_court index search_court_name_idx", "public.search_court key search_court_pkey" },
            fk.DependsOn);
        Assert.Equal(3, byId["public.search_docket foreign key search_docket_user_fk"].DependsOn.Count);
        Assert.Equal("public.auth_user", byId["public.search_docket foreign key search_docket_user_fk"].References);
        Assert.Contains("REFERENCES \"bulkdata_stage_7\".\"search_court\"(id) NOT VALID", fk.Statement.Text);

        var validate = byId["public.search_docket foreign key search_docket_court_id_fk:validate"];
        Assert.Equal(PostDataJobKind.Validate, validate.Kind);
        Assert.Equal(new[] { fk.Id }, validate.DependsOn);
        Assert.Equal("ALTER TABLE \"bulkdata_stage_7\".\"search_docket\" VALIDATE CONSTRAINT \"search_docket_court_id_fk\"", validate.Statement.Text);
        Assert.DoesNotContain(jobs, j => j.Job.Id == "public.search_docket foreign key search_docket_user_fk:validate");

        // Triggers are serial, in order, the disabled state after its trigger.
        Assert.True(byId["public.search_docket trigger t1"].Serial);
        Assert.Equal(new[] { "public.search_docket trigger t1" }, byId["public.search_docket trigger state t1"].DependsOn);
        Assert.All(jobs.Where(j => j.Job.Kind != PostDataJobKind.Other), j => Assert.False(j.Job.Serial));
    }

    [Fact]
    public async Task On_the_schedule_a_tables_indexes_start_while_another_still_loads_within_the_limit()
    {
        var jobs = StagingJobs.Build("bulkdata_stage_7", new[] { Court(), Docket() });
        var tables = Channel.CreateUnbounded<TableJob>();
        tables.Writer.TryWrite(new TableJob { Schema = "public", Table = "search_docket", FilePath = "/nowhere/d.csv", Bytes = 100, Dialect = CopyDialect.Escape });
        tables.Writer.TryWrite(new TableJob { Schema = "public", Table = "search_court", FilePath = "/nowhere/c.csv", Bytes = 1, Dialect = CopyDialect.Escape });
        tables.Writer.Complete();
        var docketLoad = new TaskCompletionSource();
        var log = new List<string>();
        int inUse = 0, peak = 0;
        var gate = new object();
        void Note(string what, int delta)
        {
            lock (gate)
            {
                inUse += delta;
                peak = Math.Max(peak, inUse);
                log.Add((delta > 0 ? "start " : "end ") + what);
            }
        }

        var input = new ScheduleInput
        {
            Tables = tables.Reader,
            PendingTables = new[] { "public.search_docket", "public.search_court" },
            PostData = jobs.Select(j => j.Job).ToList(),
            LoadParallelism = 3,
        };
        var outcome = await new ImportScheduler(3).RunAsync(input, async (job, streams, ct) =>
        {
            Note(job.Table, 1);
            if (job.Table == "search_docket")
            {
                await docketLoad.Task.WaitAsync(TimeSpan.FromSeconds(20), ct);
            }

            Note(job.Table, -1);
            return true;
        }, async (job, ct) =>
        {
            Note(job.Id, 1);
            await Task.Delay(5, ct);
            Note(job.Id, -1);
            lock (gate)
            {
                // Both of the court's jobs done while the docket still loads: let it finish.
                if (log.Contains("end public.search_court index search_court_name_idx") && log.Contains("end public.search_court key search_court_pkey"))
                {
                    docketLoad.TrySetResult();
                }
            }
        }, CancellationToken.None);

        Assert.Equal(0, outcome.FailedTables);
        Assert.True(outcome.PostDataComplete);
        Assert.InRange(peak, 2, 3);
        Assert.InRange(outcome.PeakConnections, 2, 3);
        int docketDone = log.IndexOf("end search_docket");
        Assert.True(log.IndexOf("start public.search_court index search_court_name_idx") < docketDone, string.Join("; ", log));
        // The docket's foreign key after every index and key of both tables, the validation after it, the triggers last.
        int fk = log.IndexOf("start public.search_docket foreign key search_docket_court_id_fk");
        Assert.True(fk > log.IndexOf("end public.search_docket key search_docket_pkey") && fk > log.IndexOf("end public.search_court key search_court_pkey") && fk > docketDone);
        Assert.True(log.IndexOf("start public.search_docket foreign key search_docket_court_id_fk:validate") > log.IndexOf("end public.search_docket foreign key search_docket_court_id_fk"));
        Assert.Equal(log.Count - 4, log.IndexOf("start public.search_docket trigger t1"));
        Assert.Equal(log.Count - 2, log.IndexOf("start public.search_docket trigger state t1"));
    }
}
