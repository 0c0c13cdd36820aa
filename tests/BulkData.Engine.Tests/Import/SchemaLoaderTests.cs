using BulkData.Engine.Import.Tables;
using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using System.Diagnostics;
using BulkData.Engine.Import;
using BulkData.TestKit;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace BulkData.Engine.Tests.Import;

public class SchemaLoaderTests
{
    private readonly ITestOutputHelper _output;

    public SchemaLoaderTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [SkippableFact]
    public async Task The_real_schema_loads_pre_data_then_post_data_into_an_empty_postgres_15()
    {
        string path = ImportTestEnvironment.RequireRealSchema();
        string admin = ImportTestEnvironment.RequirePg();
        var script = SchemaScript.Load(path);
        string db = ImportTestEnvironment.NewDatabaseName("realschema");
        var reporter = new RecordingReporter();
        var loader = new StatementRunner();
        var clock = Stopwatch.StartNew();
        try
        {
            bool localeInstalled = await LocaleInstalledAsync("en_US");
            Assert.True(await DatabaseCreator.EnsureDatabaseAsync(admin, db, script.CreateDatabaseStatement!.Text, reporter, default));
            Assert.Equal(localeInstalled ? 0 : 1, reporter.Warnings.Count(w => w.Contains("locale", StringComparison.Ordinal)));

            await using var conn = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor(db));
            await conn.OpenAsync();
            var database = await loader.ApplyAsync(conn, script.DatabaseStatementsFor(db), path, reporter, default);
            var pre = await loader.ApplyAsync(conn, script.PreData, path, reporter, default);
            TimeSpan preTime = clock.Elapsed;

            // After pre-data: every table, no index, no constraint but the inline NOT NULL/CHECKs.
            Assert.Equal(109, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
            Assert.Equal(0, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"));
            Assert.Equal(0, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f')"));

            var post = await loader.ApplyAsync(conn, script.PostData, path, reporter, default);
            clock.Stop();

            long tables = await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
            long fks = await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND c.contype = 'f'");
            long indexes = await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'");
            long pks = await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND c.contype = 'p'");
            long sequencesOwned = await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_depend d JOIN pg_class s ON s.oid = d.objid WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i')");
            Assert.Equal(109, tables);
            Assert.True(fks >= 100, $"{fks} foreign keys");
            Assert.Equal(100, fks);
            Assert.Equal(602, indexes);
            Assert.Equal(109, pks);
            Assert.Equal(108, sequencesOwned);

            var all = database.Skipped.Concat(pre.Skipped).Concat(post.Skipped).ToList();
            var byReason = all.GroupBy(w => ReasonKind(w.Reason)).ToDictionary(g => g.Key, g => g.Count());
            _output.WriteLine($"tables {tables}, foreign keys {fks}, indexes {indexes} (primary keys {pks}); applied {database.Applied + pre.Applied + post.Applied}; pre-data {preTime.TotalSeconds:0.0} s, total {clock.Elapsed.TotalSeconds:0.0} s");
            foreach (var (reason, count) in byReason.OrderBy(p => p.Key))
            {
                _output.WriteLine($"  skipped {count,4}: {reason}");
            }

            foreach (var w in reporter.Warnings.Where(w => w.Contains("locale", StringComparison.Ordinal)).Concat(reporter.Warnings.Take(3)))
            {
                _output.WriteLine("  warning: " + w);
            }

            // 1 database owner + 109 table owners + 102 sequence owners; SET transaction_timeout; 86 triggers and their
            // 86 comments; 5 foreign keys to django_content_type and auth_user.
            Assert.Equal(212, byReason["role django does not exist"]);
            Assert.Equal(1, byReason["setting transaction_timeout is unknown"]);
            Assert.Equal(86, byReason["trigger function is not in the dump"]);
            Assert.Equal(86, byReason["trigger was skipped"]);
            Assert.Equal(5, byReason["foreign key to a table not in the dump"]);
            Assert.Equal(5, byReason.Count);
            // Each skipped statement is on -Verbose with its line; the warnings are one per kind, with its count.
            Assert.Equal(all.Count, reporter.VerboseMessages.Count(w => w.Contains(" skipped '", StringComparison.Ordinal)));
            Assert.DoesNotContain(reporter.Warnings, w => w.Contains(" skipped '", StringComparison.Ordinal));
            var summary = StatementRunner.Summarize(loader.Warnings, "schema-2024-12-31.sql").ToList();
            Assert.Equal(5, summary.Count);
            Assert.StartsWith("schema-2024-12-31.sql: 212 statements skipped (lines ", summary[0]);
            Assert.EndsWith("): role django does not exist (-Verbose shows each).", summary[0]);
            Assert.Contains(summary, s => s.Contains(": 86 statements skipped (lines ", StringComparison.Ordinal) && s.Contains("): trigger function is not in the dump", StringComparison.Ordinal));
            Assert.Contains(summary, s => s.Contains(": 86 statements skipped (lines ", StringComparison.Ordinal) && s.Contains("): refers to a trigger that was skipped", StringComparison.Ordinal));
            Assert.Contains(summary, s => s.Contains(": 5 statements skipped (lines ", StringComparison.Ordinal) && s.Contains("): foreign key to a table that is not in the dump", StringComparison.Ordinal));
            Assert.Contains(summary, s => s.StartsWith("schema-2024-12-31.sql: 1 statement skipped (line ", StringComparison.Ordinal) && s.Contains("setting transaction_timeout is unknown", StringComparison.Ordinal));
            Assert.Equal(loader.Warnings.Count, all.Count);
            Assert.Equal(script.PreData.Count + script.PostData.Count + script.DatabaseStatements.Count, database.Applied + pre.Applied + post.Applied + all.Count);
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
        }
    }

    [SkippableFact]
    public async Task The_publishers_dressed_schema_loads_with_exactly_the_expected_warnings()
    {
        string admin = ImportTestEnvironment.RequirePg();
        const string source = "schema-2026-10-01.sql";
        var script = SchemaScript.Parse(Publisher.DressAsDump(Publisher.SubsetSchema), source);
        string db = ImportTestEnvironment.NewDatabaseName("dressed");
        var reporter = new RecordingReporter();
        var loader = new StatementRunner();
        try
        {
            bool localeInstalled = await LocaleInstalledAsync("en_US");
            var created = await DatabaseCreator.EnsureDatabaseAsync(admin, db, script.CreateDatabaseStatement, source, reporter, default);
            Assert.True(created.Created);
            Assert.False(await DatabaseCreator.EnsureDatabaseAsync(admin, db, script.CreateDatabaseStatement!.Text, reporter, default));
            if (!localeInstalled)
            {
                var locale = Assert.Single(created.Skipped);
                Assert.Equal(script.CreateDatabaseStatement!.Line, locale.Line);
                Assert.StartsWith("its locale is not usable on this server (invalid locale name: \"en_US.UTF-8\")", locale.Reason);
                Assert.StartsWith($"{source} line {script.CreateDatabaseStatement.Line}: skipped the locale of 'CREATE DATABASE \"{db}\"", reporter.Warnings[0]);
            }

            await using var conn = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor(db));
            await conn.OpenAsync();
            var database = await loader.ApplyAsync(conn, script.DatabaseStatementsFor(db), source, reporter, default);
            var pre = await loader.ApplyAsync(conn, script.PreData, source, reporter, default);
            var post = await loader.ApplyAsync(conn, script.PostData, source, reporter, default);

            var skipped = database.Skipped.Concat(pre.Skipped).Concat(post.Skipped).Select(w => (w.Line, w.Reason)).ToList();
            string dump = Publisher.DressAsDump(Publisher.SubsetSchema);
            string[] lines = dump.Split('\n');
            int LineOf(string start) => Array.FindIndex(lines, l => l.StartsWith(start, StringComparison.Ordinal)) + 1;
            var expected = new List<(int, string)>
            {
                (LineOf("ALTER DATABASE courtlistener OWNER TO django"), "role django does not exist"),
                (Array.FindLastIndex(lines, l => l.StartsWith("SET transaction_timeout", StringComparison.Ordinal)) + 1, $"setting transaction_timeout is unknown to this server (PostgreSQL {conn.PostgreSqlVersion})"),
            };
            foreach (var table in new[] { "search_court", "people_db_person", "search_docket", "search_opinioncluster", "search_opinion", "search_opinionscited", "search_citation", "search_opinioncluster_panel" })
            {
                expected.Add((LineOf($"ALTER TABLE public.{table} OWNER TO django"), "role django does not exist"));
            }

            int trigger = LineOf("CREATE TRIGGER pgtrigger_update_or_delete_snapshot_update_abc12");
            expected.Add((trigger, "trigger function public.pgtrigger_update_or_delete_snapshot_update_abc12() is not in the dump"));
            expected.Add((LineOf("COMMENT ON TRIGGER pgtrigger_update_or_delete_snapshot_update_abc12"), $"trigger pgtrigger_update_or_delete_snapshot_update_abc12 on public.search_docket was skipped (line {trigger})"));
            expected.Add((LineOf("GRANT SELECT ON TABLE public.search_court TO readonly_role"), "role readonly_role does not exist"));
            Assert.Equal(expected, skipped);

            // Each skip is a verbose message with its file, line and reason; the locale one is a warning from creating the database.
            var warnings = reporter.VerboseMessages.Where(w => w.Contains(" skipped '", StringComparison.Ordinal)).ToList();
            Assert.Equal(expected.Count, warnings.Count);
            Assert.All(expected.Zip(warnings), p => Assert.StartsWith($"{source} line {p.First.Item1}: skipped '", p.Second));
            Assert.All(expected.Zip(warnings), p => Assert.EndsWith($": {p.First.Item2}.", p.Second));
            Assert.Equal(localeInstalled ? 0 : 1, reporter.Warnings.Count(w => w.Contains("skipped the locale of", StringComparison.Ordinal)));
            Assert.Equal(localeInstalled ? 0 : 1, reporter.Warnings.Count);
            using (loader.WarnOnDispose(source, reporter))
            {
            }

            // One warning per kind: role django (9), the setting, the trigger function, the trigger reference, role readonly_role.
            Assert.Equal(5 + (localeInstalled ? 0 : 1), reporter.Warnings.Count);
            var django = expected.Where(e => e.Item2 == "role django does not exist").Select(e => e.Item1).ToList();
            Assert.Equal(9, django.Count);
            Assert.Contains($"{source}: 9 statements skipped (lines {django.Min()}-{django.Max()}): role django does not exist (-Verbose shows each).", reporter.Warnings);

            Assert.Equal(8, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
            Assert.Equal(13, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"));
            Assert.Equal(28, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"));
            Assert.Equal("UTF8", await ScalarStringAsync(conn, "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()"));

            // The session settings again on a second connection (post-data may run there): no second warning.
            await using var second = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor(db));
            await second.OpenAsync();
            int before = reporter.Warnings.Count;
            var again = await loader.ApplyAsync(second, script.Settings, source, reporter, default);
            Assert.Equal(script.Settings.Count - 1, again.Applied);
            Assert.Empty(again.Skipped);
            Assert.Equal(before, reporter.Warnings.Count);
            Assert.Equal("", await ScalarStringAsync(second, "SELECT current_setting('search_path')"));
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
        }
    }

    [SkippableFact]
    public async Task A_broken_statement_fails_naming_the_file_and_line_and_keeps_what_ran()
    {
        string admin = ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("broken");
        const string script = "SET statement_timeout = 0;\nCREATE TABLE public.a (id integer);\n\nCREATE TABLE public.b (\n    id integer,\n    x nosuchtype\n);\nCREATE TABLE public.c (id integer);\n";
        try
        {
            await DatabaseCreator.EnsureDatabaseAsync(admin, db, null, NullReporter.Instance, default);
            await using var conn = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor(db));
            await conn.OpenAsync();
            var parsed = SchemaScript.Parse(script, "broken.sql");
            var e = await Assert.ThrowsAsync<BulkDataException>(() => new StatementRunner().ApplyAsync(conn, parsed.PreData, "broken.sql", NullReporter.Instance, default));

            // 42704 (type does not exist) is the same SQLSTATE as a missing role: the statement's shape decides.
            Assert.Equal(BulkErrorKind.DatabaseError, e.Kind);
            Assert.Equal("broken.sql", e.Target);
            Assert.StartsWith("broken.sql line 6 (statement from line 4): type \"nosuchtype\" does not exist (SQLSTATE 42704).", e.Message);
            Assert.Equal(1, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
        }
    }

    [SkippableTheory]
    [InlineData("ALTER TABLE public.missing OWNER TO postgres;", "42P01")]
    [InlineData("ALTER TABLE public.t ADD CONSTRAINT t_fk FOREIGN KEY (nope) REFERENCES public.t(id);", "42703")]
    [InlineData("ALTER TABLE public.missing ADD CONSTRAINT m_fk FOREIGN KEY (id) REFERENCES public.gone(id);", "42P01")]
    [InlineData("SET search_path = nosuchschema, public; SET nosuch.setting.too = 1;", null)]
    [InlineData("SET work_mem = 'lots';", "22023")]
    [InlineData("GRANT SELECT ON TABLE public.missing TO postgres;", "42P01")]
    [InlineData("CREATE TRIGGER trg AFTER UPDATE ON public.missing FOR EACH ROW EXECUTE FUNCTION public.nosuchfn();", "42P01")]
    [InlineData("COMMENT ON TRIGGER never_skipped ON public.t IS 'x';", "42704")]
    [InlineData("CREATE INDEX t_idx ON public.t USING btree (nosuchcolumn);", "42703")]
    public async Task Failures_that_are_not_a_dump_on_another_server_are_errors(string statement, string? sqlState)
    {
        string admin = ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("strict");
        try
        {
            await DatabaseCreator.EnsureDatabaseAsync(admin, db, null, NullReporter.Instance, default);
            await using var conn = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor(db));
            await conn.OpenAsync();
            var setup = SchemaScript.Parse("CREATE TABLE public.t (id integer PRIMARY KEY);", "setup.sql");
            await new StatementRunner().ApplyAsync(conn, setup.PreData, "setup.sql", NullReporter.Instance, default);

            var statements = SqlScriptSplitter.Split(statement);
            var loader = new StatementRunner();
            if (sqlState is null)
            {
                // Custom (dotted) settings and search paths naming missing schemas are accepted by the server itself.
                var ok = await loader.ApplyAsync(conn, statements, "strict.sql", NullReporter.Instance, default);
                Assert.Equal(statements.Count, ok.Applied);
                return;
            }

            var e = await Assert.ThrowsAsync<BulkDataException>(() => loader.ApplyAsync(conn, statements, "strict.sql", NullReporter.Instance, default));
            Assert.Contains($"(SQLSTATE {sqlState})", e.Message);
            Assert.StartsWith("strict.sql line 1", e.Message);
            Assert.Empty(loader.Warnings);
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
        }
    }

    [SkippableFact]
    public async Task In_a_transaction_each_statement_gets_a_savepoint_so_a_tolerated_failure_does_not_abort_the_rest()
    {
        string admin = ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("savepoint");
        const string script = """
            CREATE TABLE public.p (id integer NOT NULL);
            ALTER TABLE public.p OWNER TO nobody_here;
            ALTER TABLE ONLY public.p ADD CONSTRAINT p_pkey PRIMARY KEY (id);
            ALTER TABLE ONLY public.p ADD CONSTRAINT p_user_fk FOREIGN KEY (id) REFERENCES public.auth_user(id);
            CREATE FUNCTION public.atomic_one() RETURNS integer LANGUAGE sql
            BEGIN ATOMIC
              SELECT 1;
            END;
            CREATE TABLE public.q (id integer);
            """;
        try
        {
            await DatabaseCreator.EnsureDatabaseAsync(admin, db, null, NullReporter.Instance, default);
            await using var conn = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor(db));
            await conn.OpenAsync();
            var parsed = SchemaScript.Parse(script, "tx.sql");
            var loader = new StatementRunner();
            await using (var tx = await conn.BeginTransactionAsync())
            {
                var pre = await loader.ApplyAsync(conn, parsed.PreData, "tx.sql", NullReporter.Instance, tx, default);
                var post = await loader.ApplyAsync(conn, parsed.PostData, "tx.sql", NullReporter.Instance, tx, default);
                Assert.Equal(3, pre.Applied);
                Assert.Equal(new[] { (2, "role nobody_here does not exist") }, pre.Skipped.Select(w => (w.Line, w.Reason)));
                Assert.Equal(1, post.Applied);
                Assert.Equal(new[] { (4, "foreign key p_user_fk references public.auth_user, a table that is not in the dump") }, post.Skipped.Select(w => (w.Line, w.Reason)));
                await tx.CommitAsync();
            }

            Assert.Equal(2, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
            Assert.Equal(1, await ImportTestEnvironment.CountAsync(conn, "SELECT public.atomic_one()"));
            Assert.Equal(1, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_constraint WHERE conname = 'p_pkey'"));
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
        }
    }

    [SkippableFact]
    public async Task In_a_transaction_statements_go_in_batches_and_a_failure_at_a_batch_edge_skips_only_itself()
    {
        string admin = ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("batches");
        // 150 statements, one per line: tolerated failures (a role that does not exist) at the edges of the batches of 64.
        int[] failing = { 0, 63, 64, 65, 127, 128, 149 };
        string Script(int? broken) => string.Join("\n", Enumerable.Range(0, 150).Select(k =>
            failing.Contains(k) ? "ALTER TABLE public.base OWNER TO nobody_here;"
            : k == broken ? "CREATE TABLE public.t1 (id integer);"
            : $"CREATE TABLE public.t{k} (id integer);"));
        try
        {
            await DatabaseCreator.EnsureDatabaseAsync(admin, db, null, NullReporter.Instance, default);
            await using var conn = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor(db));
            await conn.OpenAsync();
            await ImportTestEnvironment.ExecAsync(ImportTestEnvironment.ConnectionStringFor(db), "CREATE TABLE public.base (id integer)");
            var loader = new StatementRunner();
            await using (var tx = await conn.BeginTransactionAsync())
            {
                var pre = await loader.ApplyAsync(conn, SchemaScript.Parse(Script(null), "b.sql").PreData, "b.sql", NullReporter.Instance, tx, default);
                Assert.Equal(150 - failing.Length, pre.Applied);
                Assert.Equal(failing.Select(k => k + 1), pre.Skipped.Select(w => w.Line));
                Assert.All(pre.Skipped, w => Assert.Equal("role nobody_here does not exist", w.Reason));
                await tx.CommitAsync();
            }

            Assert.Equal(1 + 150 - failing.Length, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
            Assert.Equal(0, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_tables WHERE tablename IN ('t0', 't63', 't64', 't65', 't127', 't128', 't149')"));

            // An error that is not tolerated (line 71, in the second batch) names its line; the transaction keeps
            // nothing of the script once it is rolled back.
            await ImportTestEnvironment.ExecAsync(ImportTestEnvironment.ConnectionStringFor(db), "DROP TABLE " + string.Join(", ", Enumerable.Range(0, 150).Where(k => !failing.Contains(k)).Select(k => $"public.t{k}")));
            await using (var tx = await conn.BeginTransactionAsync())
            {
                var e = await Assert.ThrowsAsync<BulkDataException>(() => loader.ApplyAsync(conn, SchemaScript.Parse(Script(70), "b.sql").PreData, "b.sql", NullReporter.Instance, tx, default));
                Assert.Contains("b.sql line 71", e.Message, StringComparison.Ordinal);
                Assert.Contains("already exists", e.Message, StringComparison.Ordinal);
            }

            Assert.Equal(1, await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
        }
    }

    [SkippableFact]
    public async Task Cancellation_stops_before_the_next_statement()
    {
        string admin = ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("cancel");
        try
        {
            await DatabaseCreator.EnsureDatabaseAsync(admin, db, null, NullReporter.Instance, default);
            await using var conn = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor(db));
            await conn.OpenAsync();
            using var cts = new CancellationTokenSource();
            var reporter = new CancellingReporter(cts, afterProgressUpdates: 1);
            var statements = SqlScriptSplitter.Split(string.Concat(Enumerable.Range(0, 30).Select(i => $"CREATE TABLE public.t{i} (id integer);\n")));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new StatementRunner().ApplyAsync(conn, statements, "c.sql", reporter, cts.Token));
            long made = await ImportTestEnvironment.CountAsync(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
            Assert.InRange(made, 1, 29);
        }
        finally
        {
            await ImportTestEnvironment.DropDatabaseAsync(db);
        }
    }

    [SkippableFact]
    public async Task A_database_that_cannot_be_created_is_an_error_naming_it()
    {
        string admin = ImportTestEnvironment.RequirePg();
        string db = ImportTestEnvironment.NewDatabaseName("nocreate");
        var e = await Assert.ThrowsAsync<BulkDataException>(() => DatabaseCreator.EnsureDatabaseAsync(admin, db, "CREATE DATABASE x WITH TEMPLATE = no_such_template;", NullReporter.Instance, default));
        Assert.Contains($"Cannot create database {db}", e.Message);
        Assert.Contains("no_such_template", e.Message);
        Assert.DoesNotContain(new Npgsql.NpgsqlConnectionStringBuilder(admin).Password!, e.Message);
    }

    // Reason texts name objects; group them by what happened.
    private static string ReasonKind(string reason) => reason switch
    {
        _ when reason.StartsWith("role django", StringComparison.Ordinal) => "role django does not exist",
        _ when reason.StartsWith("setting transaction_timeout is unknown", StringComparison.Ordinal) => "setting transaction_timeout is unknown",
        _ when reason.StartsWith("trigger function", StringComparison.Ordinal) && reason.EndsWith("is not in the dump", StringComparison.Ordinal) => "trigger function is not in the dump",
        _ when reason.StartsWith("trigger ", StringComparison.Ordinal) && reason.Contains("was skipped", StringComparison.Ordinal) => "trigger was skipped",
        _ when reason.StartsWith("foreign key", StringComparison.Ordinal) => "foreign key to a table not in the dump",
        _ => reason,
    };

    private static async Task<bool> LocaleInstalledAsync(string prefix)
    {
        await using var conn = new NpgsqlConnection(ImportTestEnvironment.ConnectionStringFor("postgres"));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collprovider = 'c' AND collcollate ILIKE $1 || '.utf%8')", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = prefix });
        return (bool)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<string> ScalarStringAsync(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }

    // Cancels the run from inside it, once it has reported progress a number of times (progress comes every 10 statements).
    private sealed class CancellingReporter : IBulkReporter
    {
        private readonly CancellationTokenSource _cts;
        private int _left;

        public CancellingReporter(CancellationTokenSource cts, int afterProgressUpdates)
        {
            _cts = cts;
            _left = afterProgressUpdates;
        }

        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }

        public void Progress(ProgressUpdate update)
        {
            if (--_left < 0)
            {
                _cts.Cancel();
            }
        }
    }
}
