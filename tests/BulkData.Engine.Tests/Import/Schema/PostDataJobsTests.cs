using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using BulkData.TestKit;
using Xunit;

namespace BulkData.Engine.Tests.Import.Schema;

public class PostDataJobsTests
{
    private static void AssertSchedule(IReadOnlyList<PostDataJob> jobs)
    {
        var position = jobs.Select((j, i) => (j.Id, i)).ToDictionary(x => x.Id, x => x.i);
        Assert.Equal(jobs.Count, position.Count);
        foreach (var job in jobs)
        {
            Assert.All(job.DependsOn, d => Assert.True(position[d] < position[job.Id], $"{job} runs after {d}"));
        }

        var keysOf = jobs.Where(j => j.Kind is PostDataJobKind.Index or PostDataJobKind.Key).ToLookup(j => j.Table, StringComparer.OrdinalIgnoreCase);
        foreach (var fk in jobs.Where(j => j.Kind == PostDataJobKind.ForeignKey))
        {
            Assert.EndsWith(" NOT VALID", fk.Statement.Text);
            // After every index and key of the table it references (the unique index it needs among them).
            Assert.All(keysOf[fk.References], k => Assert.Contains(k.Id, fk.DependsOn));
            var validate = Assert.Single(jobs, j => j.Kind == PostDataJobKind.Validate && j.DependsOn.Contains(fk.Id));
            Assert.Equal($"ALTER TABLE {new QualifiedName(fk.Table!.Split('.')[0], fk.Table.Split('.')[1]).Sql} VALIDATE CONSTRAINT {QualifiedName.QuoteIdentifier(fk.Constraint!)}", validate.Statement.Text);
            Assert.Equal(fk.Id + ":validate", validate.Id);
        }

        // The validations come last: every statement runs before the first check of the loaded rows.
        int firstValidate = jobs.ToList().FindIndex(j => j.Kind == PostDataJobKind.Validate);
        Assert.All(jobs.Skip(firstValidate), j => Assert.Equal(PostDataJobKind.Validate, j.Kind));
    }

    [Fact]
    public void The_kit_schema_becomes_one_job_per_statement_with_foreign_keys_not_valid_then_validated()
    {
        var script = SchemaScript.Parse(Publisher.DressAsDump(Publisher.SubsetSchema), "schema-2026-10-01.sql");
        var jobs = PostDataJobs.Build(script.PostData);
        AssertSchedule(jobs);
        Assert.Equal(script.PostData.Count(s => s.Kind == StatementKind.Sql) + jobs.Count(j => j.Kind == PostDataJobKind.Validate), jobs.Count);
        Assert.Equal(13, jobs.Count(j => j.Kind == PostDataJobKind.ForeignKey));
        Assert.Equal(13, jobs.Count(j => j.Kind == PostDataJobKind.Validate));
        Assert.Equal(8, jobs.Count(j => j.Kind == PostDataJobKind.Key && j.Statement.Text.Contains("PRIMARY KEY")));
        var fk = jobs.Single(j => j.Kind == PostDataJobKind.ForeignKey && j.Constraint == "search_opinion_cluster_id_fk_search_opinioncluster_id");
        Assert.Equal("public.search_opinion", fk.Table);
        Assert.Equal("public.search_opinioncluster", fk.References);
        Assert.Contains("DEFERRABLE INITIALLY DEFERRED NOT VALID", fk.Statement.Text);
        // Ids are the statements' lines: the same script gives the same journal steps.
        Assert.Equal(jobs.Select(j => j.Id), PostDataJobs.Build(SchemaScript.Parse(Publisher.DressAsDump(Publisher.SubsetSchema)).PostData).Select(j => j.Id));
        Assert.All(jobs.Where(j => j.Kind != PostDataJobKind.Validate), j => Assert.Equal($"line {j.Statement.Line}", j.Id));
    }

    [SkippableFact]
    public void The_real_schema_schedules_every_foreign_key_after_the_keys_it_needs()
    {
        var script = SchemaScript.Load(BulkData.Engine.Tests.Import.ImportTestEnvironment.RequireRealSchema());
        var jobs = PostDataJobs.Build(script.PostData);
        AssertSchedule(jobs);
        Assert.True(jobs.Count(j => j.Kind == PostDataJobKind.Index) > 300);
        Assert.True(jobs.Count(j => j.Kind == PostDataJobKind.ForeignKey) > 80);
        Assert.Equal(jobs.Count(j => j.Kind == PostDataJobKind.ForeignKey), jobs.Count(j => j.Kind == PostDataJobKind.Validate));
    }

    [Fact]
    public void A_foreign_key_already_not_valid_is_not_validated_and_a_multi_action_statement_is_left_whole()
    {
        var statements = SqlScriptSplitter.Split("""
            ALTER TABLE ONLY public.p ADD CONSTRAINT p_pkey PRIMARY KEY (id);
            ALTER TABLE ONLY public.c ADD CONSTRAINT c_fk FOREIGN KEY (p_id) REFERENCES public.p(id) NOT VALID;
            ALTER TABLE public.c ADD CONSTRAINT c2_fk FOREIGN KEY (p_id) REFERENCES public.p(id), ADD CONSTRAINT c3 CHECK (id > 0);
            CREATE TRIGGER t AFTER INSERT ON public.c FOR EACH ROW EXECUTE FUNCTION f();
            """);
        var jobs = PostDataJobs.Build(statements);
        Assert.Equal(new[] { PostDataJobKind.Key, PostDataJobKind.ForeignKey, PostDataJobKind.Other, PostDataJobKind.Other }, jobs.Select(j => j.Kind));
        Assert.Equal(statements[1].Text, jobs[1].Statement.Text);
        Assert.Equal(new[] { "line 1" }, jobs[1].DependsOn);
        Assert.Equal(new[] { "line 3" }, jobs[3].DependsOn);
    }
}
