using BulkData.Engine.Import;
using Xunit;

namespace BulkData.Engine.Tests.Import.Schedule;

/// <summary>
/// A post-data job sends its statement and its journal row as one batch (one round trip, one implicit transaction):
/// what the journal records is exactly what was built, whichever of the two fails. Against the real PostgreSQL 15.
/// </summary>
public class PostDataRoundTripTests
{
    private const string Schema = """
        SET statement_timeout = 0;
        CREATE TABLE public.search_court (id varchar(15) NOT NULL, full_name text NOT NULL);
        CREATE TABLE public.search_docket (id integer NOT NULL, court_id varchar(15) NOT NULL);
        ALTER TABLE ONLY public.search_court ADD CONSTRAINT search_court_pkey PRIMARY KEY (id);
        CREATE INDEX search_court_full_name ON public.search_court USING btree (full_name);
        CREATE INDEX search_docket_court_id ON public.search_docket USING btree (court_id);
        ALTER TABLE ONLY public.search_docket ADD CONSTRAINT search_docket_court_id_fk FOREIGN KEY (court_id) REFERENCES public.search_court(id) DEFERRABLE INITIALLY DEFERRED;
        ALTER TABLE ONLY public.search_docket ADD CONSTRAINT search_docket_judge_fk FOREIGN KEY (court_id) REFERENCES public.people_db_person(id);

        """;

    // The script's lines (from 1) of the statements the tests pick on.
    private static int LineOf(string schema, string text)
        => schema[..schema.IndexOf(text, StringComparison.Ordinal)].Count(ch => ch == '\n') + 1;

    private static string MakeDump(string schema)
    {
        string dir = Directory.CreateTempSubdirectory("bulkdata-rt-").FullName;
        File.WriteAllText(Path.Combine(dir, "schema-2026-09-30.sql"), schema);
        File.WriteAllText(Path.Combine(dir, "courts-2026-09-30.csv"), "id,full_name\n" + string.Concat(Enumerable.Range(1, 20).Select(i => $"c{i},\"Court {i}\"\n")));
        File.WriteAllText(Path.Combine(dir, "dockets-2026-09-30.csv"), "id,court_id\n" + string.Concat(Enumerable.Range(1, 50).Select(i => $"{i},c{i % 20 + 1}\n")));
        return dir;
    }

    private static ImportOptions OptionsFor(string db) => new()
    {
        Connection = PgConnectionInfo.Create(ImportTestEnvironment.ConnectionStringFor(db)), DatabaseGiven = true, ThrottleLimit = 2,
    };

    private static Task<IReadOnlyList<ImportResult>> ImportAsync(string dir, ImportOptions options, ListReporter reporter)
        => new BulkImporter(options, reporter).RunAsync(ImportPlan.Build(new[] { new ImportInput(dir) }, options, reporter), (_, _) => { }, _ => { }, default);

    private static async Task<long> CountAsync(string cs, string sql) => Convert.ToInt64(await ImportTestEnvironment.ScalarAsync(cs, sql));

    [SkippableFact]
    public async Task A_journal_row_that_cannot_be_written_takes_its_index_with_it_and_the_rerun_builds_it()
    {
        ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("rt_journal");
        string dir = MakeDump(Schema);
        string cs = ImportTestEnvironment.ConnectionStringFor(db);
        int line = LineOf(Schema, "CREATE INDEX search_court_full_name");
        try
        {
            // The journal made up front (as the import makes it), with a trigger that refuses the index's row.
            await ImportTestEnvironment.ExecAsync(ImportTestEnvironment.ConnectionStringFor("postgres"), $"CREATE DATABASE {db}");
            await ImportTestEnvironment.ExecAsync(cs, $"""
                CREATE SCHEMA bulkdata;
                CREATE TABLE bulkdata.import_steps (step text NOT NULL, source_file text NOT NULL, done_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (step, source_file));
                CREATE FUNCTION bulkdata.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'journal refuses %', NEW.step; END $$;
                CREATE TRIGGER refuse BEFORE INSERT ON bulkdata.import_steps FOR EACH ROW WHEN (NEW.step = 'post-data line {line}') EXECUTE FUNCTION bulkdata.refuse();
                """);

            var failed = await Assert.ThrowsAnyAsync<Exception>(() => ImportAsync(dir, OptionsFor(db), new ListReporter()));
            Assert.Contains($"journal refuses post-data line {line}", failed.ToString(), StringComparison.Ordinal);
            // Its statement ran, then its journal row failed: both are rolled back, nothing says it is done.
            Assert.Equal(0L, await CountAsync(cs, "SELECT count(*) FROM pg_indexes WHERE indexname = 'search_court_full_name'"));
            Assert.Equal(0L, await CountAsync(cs, $"SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data line {line}' OR step = 'post-data'"));

            await ImportTestEnvironment.ExecAsync(cs, "DROP TRIGGER refuse ON bulkdata.import_steps");
            await ImportAsync(dir, OptionsFor(db), new ListReporter());
            Assert.Equal(1L, await CountAsync(cs, "SELECT count(*) FROM pg_indexes WHERE indexname = 'search_court_full_name'"));
            Assert.Equal(1L, await CountAsync(cs, $"SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data line {line}'"));
            Assert.Equal(1L, await CountAsync(cs, "SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data'"));
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public async Task A_statement_with_semicolons_of_its_own_goes_whole_in_its_batch_and_is_journaled()
    {
        ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("rt_rule");
        // A rule with two actions (post-data, as pg_dump puts it): Npgsql would split it at its inner semicolon.
        string schema = Schema + """
            CREATE TABLE public.court_log (id varchar(15));
            CREATE RULE court_log_twice AS ON INSERT TO public.search_court DO ALSO (INSERT INTO public.court_log VALUES (NEW.id); INSERT INTO public.court_log VALUES (NEW.id || '-again'));

            """;
        string dir = MakeDump(schema);
        string cs = ImportTestEnvironment.ConnectionStringFor(db);
        int line = LineOf(schema, "CREATE RULE court_log_twice");
        try
        {
            var results = await ImportAsync(dir, OptionsFor(db), new ListReporter());
            Assert.All(results, r => Assert.Equal(ImportStatus.Imported, r.Status));
            Assert.Equal(1L, await CountAsync(cs, "SELECT count(*) FROM pg_rules WHERE rulename = 'court_log_twice'"));
            Assert.Equal(1L, await CountAsync(cs, $"SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data line {line}'"));
            await ImportTestEnvironment.ExecAsync(cs, "INSERT INTO public.search_court VALUES ('x', 'X')");
            Assert.Equal(2L, await CountAsync(cs, "SELECT count(*) FROM public.court_log"));
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public async Task A_tolerated_failure_is_journaled_as_skipped_and_an_untolerated_one_names_its_line_and_records_nothing()
    {
        ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("rt_fail");
        string bad = Schema + "CREATE INDEX search_docket_no_such ON public.search_docket USING btree (no_such_column);\n";
        string dir = MakeDump(bad);
        string cs = ImportTestEnvironment.ConnectionStringFor(db);
        int judge = LineOf(bad, "ALTER TABLE ONLY public.search_docket ADD CONSTRAINT search_docket_judge_fk");
        int noSuch = LineOf(bad, "CREATE INDEX search_docket_no_such");
        try
        {
            var reporter = new ListReporter();
            var failed = await Assert.ThrowsAnyAsync<Exception>(() => ImportAsync(dir, OptionsFor(db), reporter));
            Assert.Contains($"schema-2026-09-30.sql line {noSuch}", failed.Message, StringComparison.Ordinal);
            Assert.Contains("no_such_column", failed.Message, StringComparison.Ordinal);
            Assert.Equal(0L, await CountAsync(cs, $"SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data line {noSuch}' OR step = 'post-data'"));
            Assert.Equal(0L, await CountAsync(cs, "SELECT count(*) FROM pg_indexes WHERE indexname = 'search_docket_no_such'"));

            // The foreign key to a table not in the dump (its own run: the failure above may stop the run first).
            string dir2 = MakeDump(Schema);
            string db2 = ImportTestEnvironment.NewDatabaseName("rt_tol");
            string cs2 = ImportTestEnvironment.ConnectionStringFor(db2);
            try
            {
                var results = await ImportAsync(dir2, OptionsFor(db2), new ListReporter());
                var schemaResult = results.Single(r => r.Table == BulkImporter.SchemaResultTable);
                Assert.Equal(ImportStatus.Imported, schemaResult.Status);
                Assert.Equal(1L, await CountAsync(cs2, $"SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data line {judge}'"));
                Assert.Equal(0L, await CountAsync(cs2, "SELECT count(*) FROM pg_constraint WHERE conname = 'search_docket_judge_fk'"));
                Assert.Equal(true, await ImportTestEnvironment.ScalarAsync(cs2, "SELECT convalidated FROM pg_constraint WHERE conname = 'search_docket_court_id_fk'"));
                Assert.Equal(1L, await CountAsync(cs2, "SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data'"));
            }
            finally
            {
                await ImportTestEnvironment.DropDatabaseAsync(db2);
                Directory.Delete(dir2, true);
            }
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public async Task A_validation_whose_key_is_gone_is_recorded_done_and_one_of_a_valid_key_changes_nothing()
    {
        ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("rt_valid");
        string dir = MakeDump(Schema);
        string cs = ImportTestEnvironment.ConnectionStringFor(db);
        int fk = LineOf(Schema, "ALTER TABLE ONLY public.search_docket ADD CONSTRAINT search_docket_court_id_fk");
        try
        {
            await ImportAsync(dir, OptionsFor(db), new ListReporter());
            Assert.Equal(1L, await CountAsync(cs, $"SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data line {fk}:validate'"));

            // The key dropped by hand, its validation and the whole step forgotten: the re-run's VALIDATE fails, the
            // checked way finds no key and records the validation done.
            await ImportTestEnvironment.ExecAsync(cs, $"""
                ALTER TABLE public.search_docket DROP CONSTRAINT search_docket_court_id_fk;
                DELETE FROM bulkdata.import_steps WHERE step IN ('post-data line {fk}:validate', 'post-data');
                """);
            await ImportAsync(dir, OptionsFor(db), new ListReporter());
            Assert.Equal(1L, await CountAsync(cs, $"SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data line {fk}:validate'"));
            Assert.Equal(1L, await CountAsync(cs, "SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data'"));
            Assert.Equal(0L, await CountAsync(cs, "SELECT count(*) FROM pg_constraint WHERE conname = 'search_docket_court_id_fk'"));

            // Made again by hand and validated: the re-run's VALIDATE does nothing and records it.
            await ImportTestEnvironment.ExecAsync(cs, $"""
                ALTER TABLE public.search_docket ADD CONSTRAINT search_docket_court_id_fk FOREIGN KEY (court_id) REFERENCES public.search_court(id);
                DELETE FROM bulkdata.import_steps WHERE step IN ('post-data line {fk}:validate', 'post-data');
                """);
            await ImportAsync(dir, OptionsFor(db), new ListReporter());
            Assert.Equal(1L, await CountAsync(cs, $"SELECT count(*) FROM bulkdata.import_steps WHERE step = 'post-data line {fk}:validate'"));
            Assert.Equal(true, await ImportTestEnvironment.ScalarAsync(cs, "SELECT convalidated FROM pg_constraint WHERE conname = 'search_docket_court_id_fk'"));
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
            Directory.Delete(dir, true);
        }
    }
}
