using BulkData.Engine.Import;
using Xunit;

namespace BulkData.Engine.Tests.Import.Online;

/// <summary>The staging copy's statements from a live definition (as pg_get_*def writes it with search_path = pg_catalog).</summary>
public class StagingCopyTests
{
    private static LiveTable Docket() => new(
        "public", "search_docket", "\"public\".\"search_docket\"", "django", new[] { "fillfactor=90" }, "it's the dockets",
        new[] { "GRANT SELECT ON TABLE {0} TO web" },
        new[] { new DefinedObject("search_docket_court_id_idx", "index", "CREATE INDEX search_docket_court_id_idx ON public.search_docket USING btree (court_id)", true) },
        new[]
        {
            new DefinedObject("search_docket_pkey", "p", "PRIMARY KEY (id)", true),
            new DefinedObject("positive", "c", "CHECK ((id > 0))", false),
        },
        new[]
        {
            new DefinedObject("search_docket_court_id_fk", "f", "FOREIGN KEY (court_id) REFERENCES public.search_court(id) DEFERRABLE INITIALLY DEFERRED", true, "public.search_court"),
            new DefinedObject("search_docket_user_fk", "f", "FOREIGN KEY (user_id) REFERENCES public.auth_user(id)", false, "public.auth_user"),
        },
        new[] { new DefinedObject("pgtrigger_x", "trigger", "CREATE TRIGGER pgtrigger_x AFTER UPDATE ON public.search_docket FOR EACH ROW EXECUTE FUNCTION public.f()", true, null, Disabled: true) },
        new[] { new OwnedSequence("id", "search_docket_id_seq", "integer", 1, 1, 1, 2147483647, 1, false, "django", new[] { "GRANT USAGE ON SEQUENCE {0} TO web" }) },
        new[] { "id" })
    { DefName = "public.search_docket" };

    [Fact]
    public void Create_copies_the_definition_with_a_sequence_of_its_own_owner_grants_options_and_comment()
    {
        var sql = StagingCopy.CreateSql("bulkdata_stage_3", Docket());
        Assert.Contains("CREATE TABLE \"bulkdata_stage_3\".\"search_docket\" (LIKE \"public\".\"search_docket\" INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS INCLUDING STATISTICS)", sql);
        Assert.Contains("CREATE SEQUENCE \"bulkdata_stage_3\".\"search_docket_id_seq\" AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1 OWNED BY \"bulkdata_stage_3\".\"search_docket\".\"id\"", sql);
        Assert.Contains("ALTER TABLE \"bulkdata_stage_3\".\"search_docket\" ALTER COLUMN \"id\" SET DEFAULT nextval('\"bulkdata_stage_3\".\"search_docket_id_seq\"'::regclass)", sql);
        Assert.Contains("ALTER TABLE \"bulkdata_stage_3\".\"search_docket\" OWNER TO \"django\"", sql);
        Assert.Contains("GRANT SELECT ON TABLE \"bulkdata_stage_3\".\"search_docket\" TO web", sql);
        Assert.Contains("GRANT USAGE ON SEQUENCE \"bulkdata_stage_3\".\"search_docket_id_seq\" TO web", sql);
        Assert.Contains("ALTER TABLE \"bulkdata_stage_3\".\"search_docket\" SET (fillfactor=90)", sql);
        Assert.Contains("COMMENT ON TABLE \"bulkdata_stage_3\".\"search_docket\" IS 'it''s the dockets'", sql);
        // The sequence is made before the default that uses it, the owner set after both.
        Assert.True(sql.ToList().FindIndex(s => s.StartsWith("CREATE SEQUENCE")) < sql.ToList().FindIndex(s => s.Contains("SET DEFAULT")));
    }

    [Fact]
    public void Build_steps_keep_the_live_names_and_point_foreign_keys_at_staged_parents_only()
    {
        var inDump = new Dictionary<string, (string DefName, string StagingSql)>(StringComparer.OrdinalIgnoreCase)
        {
            ["public.search_court"] = ("public.search_court", "\"bulkdata_stage_3\".\"search_court\""),
            ["public.search_docket"] = ("public.search_docket", "\"bulkdata_stage_3\".\"search_docket\""),
        };
        var (first, keys, last) = StagingCopy.BuildSteps("bulkdata_stage_3", Docket(), inDump);

        Assert.Equal(
            new[]
            {
                "CREATE INDEX search_docket_court_id_idx ON \"bulkdata_stage_3\".\"search_docket\" USING btree (court_id)",
                "ALTER TABLE \"bulkdata_stage_3\".\"search_docket\" ADD CONSTRAINT \"search_docket_pkey\" PRIMARY KEY (id)",
                "ALTER TABLE \"bulkdata_stage_3\".\"search_docket\" ADD CONSTRAINT \"positive\" CHECK ((id > 0)) NOT VALID",
            },
            first.Select(s => s.Sql));
        Assert.Equal(
            new[]
            {
                "ALTER TABLE \"bulkdata_stage_3\".\"search_docket\" ADD CONSTRAINT \"search_docket_court_id_fk\" FOREIGN KEY (court_id) REFERENCES \"bulkdata_stage_3\".\"search_court\"(id) DEFERRABLE INITIALLY DEFERRED NOT VALID",
                "ALTER TABLE \"bulkdata_stage_3\".\"search_docket\" ADD CONSTRAINT \"search_docket_user_fk\" FOREIGN KEY (user_id) REFERENCES public.auth_user(id) NOT VALID",
            },
            keys.Select(s => s.Sql));
        // Validated only where the live key is validated.
        Assert.Equal("ALTER TABLE \"bulkdata_stage_3\".\"search_docket\" VALIDATE CONSTRAINT \"search_docket_court_id_fk\"", keys[0].ValidateSql);
        Assert.Null(keys[1].ValidateSql);
        Assert.Equal(
            new[]
            {
                "CREATE TRIGGER pgtrigger_x AFTER UPDATE ON \"bulkdata_stage_3\".\"search_docket\" FOR EACH ROW EXECUTE FUNCTION public.f()",
                "ALTER TABLE \"bulkdata_stage_3\".\"search_docket\" DISABLE TRIGGER \"pgtrigger_x\"",
            },
            last.Select(s => s.Sql));
    }

    [Fact]
    public void Retarget_replaces_only_the_table_after_ON_and_refuses_a_definition_without_it()
    {
        Assert.Equal("CREATE UNIQUE INDEX ix ON ONLY s.t USING btree (a)", StagingCopy.Retarget("CREATE UNIQUE INDEX ix ON ONLY public.t USING btree (a)", "public.t", "s.t"));
        Assert.Equal("CREATE INDEX ix ON s.t USING btree (((a)::text = 'x ON public.t y'::text))",
            StagingCopy.Retarget("CREATE INDEX ix ON public.t USING btree (((a)::text = 'x ON public.t y'::text))", "public.t", "s.t"));
        Assert.Throws<BulkDataException>(() => StagingCopy.Retarget("CREATE INDEX ix ON public.other USING btree (a)", "public.t", "s.t"));
    }
}
