using BulkData.Engine.Import.Schema.Tolerance;
using BulkData.Engine.Import.Sql;
using Npgsql;
using Xunit;

namespace BulkData.Engine.Tests.Import.Schema;

/// <summary>Each tolerance rule's shape: which statements it is about (the database side is covered by SchemaLoaderTests on a real server).</summary>
public sealed class ToleranceRuleTests
{
    private static StatementShape S(string sql) => new(sql);

    [Fact]
    public void Unknown_setting_reads_set_reset_and_set_config()
    {
        Assert.Equal("transaction_timeout", UnknownSetting.SettingName(S("SET transaction_timeout = 0;")));
        Assert.Equal("idle_session_timeout", UnknownSetting.SettingName(S("SET SESSION idle_session_timeout TO 0;")));
        Assert.Equal("transaction_timeout", UnknownSetting.SettingName(S("RESET transaction_timeout;")));
        Assert.Equal("search_path", UnknownSetting.SettingName(S("SELECT pg_catalog.set_config('search_path', '', false);")));
        Assert.Null(UnknownSetting.SettingName(S("SELECT 1;")));
        Assert.Equal(PostgresErrorCodes.UndefinedObject, new UnknownSetting().SqlState);
    }

    [Fact]
    public void Missing_role_reads_owners_grantees_and_grantors_but_not_keywords()
    {
        Assert.Equal(new[] { "django" }, MissingRole.RoleNames(S("ALTER TABLE public.search_docket OWNER TO django;")));
        Assert.Equal(new[] { "reader", "writer", "admin" }, MissingRole.RoleNames(S("GRANT SELECT ON TABLE public.t TO reader, writer GRANTED BY admin;")));
        Assert.Equal(new[] { "old" }, MissingRole.RoleNames(S("REVOKE ALL ON SCHEMA public FROM old, PUBLIC;")));
        Assert.Empty(MissingRole.RoleNames(S("GRANT USAGE ON SCHEMA public TO PUBLIC;")));
        Assert.False(new MissingRole().Applies(S("CREATE TABLE t (id int);")));
    }

    [Fact]
    public void Missing_trigger_function_reads_create_trigger()
    {
        var t = MissingTriggerFunction.CreateTrigger(S("CREATE TRIGGER pgtrigger_x AFTER INSERT ON public.search_docket FOR EACH ROW EXECUTE FUNCTION public.pgtrigger_x_fn();"));
        Assert.NotNull(t);
        Assert.Equal("pgtrigger_x", t!.Trigger);
        Assert.Equal("public.search_docket", t.Table);
        Assert.Equal("pgtrigger_x_fn", t.Function.Name);
        Assert.Null(MissingTriggerFunction.CreateTrigger(S("CREATE TABLE t (id int);")));
        Assert.Equal(PostgresErrorCodes.UndefinedFunction, new MissingTriggerFunction().SqlState);
    }

    [Fact]
    public void Skipped_trigger_reference_reads_comments_and_enable_disable()
    {
        Assert.Equal(("public.search_docket", "pgtrigger_x"), SkippedTriggerReference.TriggerReference(S("COMMENT ON TRIGGER pgtrigger_x ON public.search_docket IS 'x';")));
        Assert.Equal(("public.t", "trg"), SkippedTriggerReference.TriggerReference(S("ALTER TABLE ONLY public.t DISABLE TRIGGER trg;")));
        Assert.Null(SkippedTriggerReference.TriggerReference(S("ALTER TABLE public.t ADD COLUMN x int;")));
    }

    [Fact]
    public void Foreign_key_to_missing_table_reads_the_constraint_and_its_target()
    {
        var fk = ForeignKeyToMissingTable.ForeignKey(S("ALTER TABLE ONLY public.search_docket ADD CONSTRAINT search_docket_court_fk FOREIGN KEY (court_id) REFERENCES public.search_court(id) DEFERRABLE INITIALLY DEFERRED;"));
        Assert.NotNull(fk);
        Assert.Equal("search_docket_court_fk", fk!.Constraint);
        Assert.Equal("public.search_court", fk.Referenced.ToString());
        Assert.Null(ForeignKeyToMissingTable.ForeignKey(S("ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);")));
        Assert.Equal(PostgresErrorCodes.UndefinedTable, new ForeignKeyToMissingTable().SqlState);
    }

    [Fact]
    public void Rules_are_asked_in_order_and_the_first_that_applies_decides()
    {
        // A SET is the setting rule's even though no other rule would take it; a GRANT is the role rule's.
        var setting = S("SET transaction_timeout = 0;");
        Assert.IsType<UnknownSetting>(ToleranceRules.All.First(r => r.SqlState == PostgresErrorCodes.UndefinedObject && r.Applies(setting)));
        var grant = S("GRANT SELECT ON public.t TO reader;");
        Assert.IsType<MissingRole>(ToleranceRules.All.First(r => r.SqlState == PostgresErrorCodes.UndefinedObject && r.Applies(grant)));
        Assert.DoesNotContain(ToleranceRules.All, r => r.Applies(S("CREATE TABLE t (id int);")));
    }
}
