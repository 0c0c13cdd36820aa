using BulkData.Engine.Import;
using Npgsql;
using Xunit;

namespace BulkData.Engine.Tests.Import.Online;

/// <summary>
/// -Online as a role that may not alter what the swap alters (here a view owned by another role): refused before
/// anything is loaded, naming the view, its owner and the importing role; once the role is a member of the owner
/// role, the same refresh swaps and the view is made again on the new generation.
/// </summary>
public class OnlineOwnershipTests
{
    [SkippableFact]
    public async Task A_view_the_importing_role_does_not_own_is_refused_before_loading_and_swapped_once_it_may()
    {
        string admin = ImportTestEnvironment.ConnectionStringFor("postgres");
        string suffix = Guid.NewGuid().ToString("N")[..8];
        string role = "imp_" + suffix, viewOwner = "reports_" + suffix;
        string password = "pw-" + Guid.NewGuid().ToString("N");
        await ImportTestEnvironment.ExecAsync(admin, $"CREATE ROLE {role} LOGIN PASSWORD '{password}'; CREATE ROLE {viewOwner} NOLOGIN");
        try
        {
            await using var db = await ScratchDatabase.CreateAsync("online_owner", owner: role);
            string cs = db.ConnectionString;
            string roleCs = new NpgsqlConnectionStringBuilder(cs) { Username = role, Password = password }.ConnectionString;
            await ImportTestEnvironment.ExecAsync(roleCs, "CREATE TABLE public.search_docket (id integer PRIMARY KEY, case_name text NOT NULL)");
            string csv = Path.Combine(db.Dir, "dockets-2026-09-30.csv");
            await File.WriteAllTextAsync(csv, "id,case_name\n" + string.Concat(Enumerable.Range(1, 50).Select(i => $"{i},\"Case {i}\"\n")));
            var options = new ImportOptions { Connection = PgConnectionInfo.Create(roleCs), DatabaseGiven = true, ThrottleLimit = 2 };
            Assert.All(await db.ImportAsync(options), r => Assert.Equal(ImportStatus.Imported, r.Status));
            await ImportTestEnvironment.ExecAsync(roleCs, $"GRANT SELECT ON public.search_docket TO {viewOwner}");
            await ImportTestEnvironment.ExecAsync(cs, $"CREATE VIEW public.docket_names AS SELECT case_name FROM public.search_docket; ALTER VIEW public.docket_names OWNER TO {viewOwner}");

            // The next quarter's file: 60 rows.
            await File.WriteAllTextAsync(csv, "id,case_name\n" + string.Concat(Enumerable.Range(1, 60).Select(i => $"{i},\"Case {i} (2)\"\n")));
            var online = options with { Online = true };
            var e = await Assert.ThrowsAsync<BulkDataException>(() => db.ImportAsync(online));
            Assert.Contains($"view public.docket_names (owner {viewOwner}): the swap alters it, which only its owner may do, and {role} is not a member of that role", e.Message, StringComparison.Ordinal);
            Assert.Contains($"GRANT <owner> TO {role}", e.Message, StringComparison.Ordinal);
            Assert.Contains("nothing was loaded or changed", e.Message, StringComparison.Ordinal);
            // Nothing was staged, the live table and the view are as they were.
            Assert.Equal(0L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bulkdata_stage%'"));
            Assert.Equal(50L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM public.docket_names WHERE case_name NOT LIKE '%(2)'"));

            await ImportTestEnvironment.ExecAsync(admin, $"GRANT {viewOwner} TO {role}");
            var results = await db.ImportAsync(online);
            Assert.All(results, r => Assert.True(r.Status == ImportStatus.Imported, $"{r.Table}: {r.Status} {r.Error}"));
            Assert.Equal(60L, await ImportTestEnvironment.ScalarAsync(cs, "SELECT count(*) FROM public.docket_names WHERE case_name LIKE '%(2)'"));
            Assert.Equal(viewOwner, await ImportTestEnvironment.ScalarAsync(cs, "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'public.docket_names'::regclass"));
        }
        finally
        {
            await ImportTestEnvironment.ExecAsync(admin, $"DROP ROLE IF EXISTS {role}; DROP ROLE IF EXISTS {viewOwner}");
        }
    }
}
