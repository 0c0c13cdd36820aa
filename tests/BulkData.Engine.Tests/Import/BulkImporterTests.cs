using BulkData.Engine.Import.Tables;
using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import;
using Npgsql;
using Xunit;

namespace BulkData.Engine.Tests.Import;

public class BulkImporterTests
{
    private static async Task<long> CountAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    [SkippableFact]
    public async Task Without_the_right_to_set_replica_tables_load_in_foreign_key_order_and_reload_through_delete()
    {
        string admin = ImportTestEnvironment.ConnectionStringFor("postgres");
        string db = ImportTestEnvironment.NewDatabaseName("imp_fk");
        string role = "imp_role_" + Guid.NewGuid().ToString("N")[..8];
        string password = "pw-" + Guid.NewGuid().ToString("N");
        string dir = Directory.CreateTempSubdirectory("bulkdata-imp-").FullName;
        await ImportTestEnvironment.ExecAsync(admin, $"CREATE ROLE {role} LOGIN PASSWORD '{password}'");
        await ImportTestEnvironment.ExecAsync(admin, $"CREATE DATABASE {db} OWNER {role}");
        try
        {
            var roleCs = new NpgsqlConnectionStringBuilder(ImportTestEnvironment.ConnectionStringFor(db)) { Username = role, Password = password }.ConnectionString;
            await ImportTestEnvironment.ExecAsync(roleCs, """
                CREATE TABLE public.search_court (id varchar(15) PRIMARY KEY, full_name text NOT NULL);
                CREATE TABLE public.search_docket (id integer PRIMARY KEY, court_id varchar(15) NOT NULL REFERENCES public.search_court (id), case_name text NOT NULL);
                """);
            // The child is the larger file: largest-first would load it first, foreign-key order must not.
            await File.WriteAllTextAsync(Path.Combine(dir, "courts-2026-09-30.csv"), "id,full_name\nscotus,\"Supreme Court\"\nca1,\"First, Circuit\"\n");
            await File.WriteAllTextAsync(Path.Combine(dir, "dockets-2026-09-30.csv"), "id,court_id,case_name\n" + string.Concat(Enumerable.Range(1, 500).Select(i => $"{i},{(i % 2 == 0 ? "scotus" : "ca1")},\"Case \\\"{i}\\\"\nsecond line\"\n")));
            var options = new ImportOptions { Connection = PgConnectionInfo.Create(roleCs), DatabaseGiven = true, ThrottleLimit = 2 };
            var reporter = new ListReporter();
            var plan = ImportPlan.Build(new[] { new ImportInput(dir) }, options, reporter);
            Assert.Equal("public.search_docket", plan.Jobs[0].QualifiedTable);
            var results = await new BulkImporter(options, reporter).RunAsync(plan, (_, _) => { }, _ => { }, default);
            Assert.All(results, r => Assert.Equal(ImportStatus.Imported, r.Status));
            Assert.Contains(reporter.Messages, m => m.Contains("foreign-key order"));
            // Progress: tables done of total as each table ends, with the bytes read.
            Assert.Contains(reporter.Updates, u => u.Status.StartsWith("1 of 2 tables done; ", StringComparison.Ordinal));
            Assert.Contains(reporter.Updates, u => u.Status.StartsWith("2 of 2 tables done; ", StringComparison.Ordinal) && u.Status.Contains(" read", StringComparison.Ordinal) && u.CurrentOperation == "public.search_docket done");
            Assert.Equal(500, results.Single(r => r.Table == "public.search_docket").Rows);
            Assert.Equal(2, results.Single(r => r.Table == "public.search_court").Rows);
            Assert.DoesNotContain(reporter.Messages, m => m.Contains(password));

            // Reload without replica: the docket table reloads; the court table is referenced by docket rows, so
            // it can be neither truncated nor deleted: it fails alone with the foreign key named, and keeps its rows.
            var again = await new BulkImporter(options with { Force = true }, reporter).RunAsync(plan, (_, _) => { }, _ => { }, default);
            Assert.Equal(ImportStatus.Imported, again.Single(r => r.Table == "public.search_docket").Status);
            var court = again.Single(r => r.Table == "public.search_court");
            Assert.Equal(ImportStatus.Failed, court.Status);
            Assert.Contains("foreign key", court.Error);
            Assert.Contains("courts-2026-09-30.csv", court.Error);
            Assert.Equal(500, await CountAsync(roleCs, "SELECT count(*) FROM public.search_docket WHERE case_name LIKE '%second line'"));
            Assert.Equal(2, await CountAsync(roleCs, "SELECT count(*) FROM public.search_court"));
        }
        finally
        {
            await ImportTestEnvironment.ExecAsync(admin, $"DROP DATABASE IF EXISTS {db} WITH (FORCE)");
            await ImportTestEnvironment.ExecAsync(admin, $"DROP ROLE IF EXISTS {role}");
            Directory.Delete(dir, true);
        }
    }
}
