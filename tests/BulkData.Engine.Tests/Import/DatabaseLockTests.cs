using BulkData.Engine.Import;
using Npgsql;
using Xunit;

namespace BulkData.Engine.Tests.Import;

public class DatabaseLockTests
{
    /// <summary>
    /// Npgsql keeps a data source, with the server's type catalog, for each distinct connection string for the life
    /// of the process: a lock whose connection string carried its start time left one behind per import (the soak).
    /// The holder's name is set after connecting instead, and the server still shows it.
    /// </summary>
    [SkippableFact]
    public async Task Every_run_takes_the_lock_over_one_connection_string_and_the_server_names_the_holder()
    {
        var info = PgConnectionInfo.Create(ImportTestEnvironment.RequirePg());
        string database = $"lock_{Guid.NewGuid():N}";
        string first;
        await using (var held = await DatabaseLock.AcquireAsync(info, database, noWait: true, NullReporter.Instance, CancellationToken.None))
        {
            first = held.ConnectionString;
            await using var probe = new NpgsqlConnection(info.AdminConnectionString);
            await probe.OpenAsync();
            await using var cmd = new NpgsqlCommand("""
                SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 2
                """, probe);
            cmd.Parameters.Add(new NpgsqlParameter { Value = (long)DatabaseLock.KeyOf(database) });
            Assert.Matches($"^BulkData import pid {Environment.ProcessId} .+ \\d{{4}}-\\d{{2}}-\\d{{2}} \\d{{2}}:\\d{{2}}:\\d{{2}}$", (string)(await cmd.ExecuteScalarAsync())!);
        }

        // A later run (the start time in the holder's name has moved on) uses the same connection string.
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        await using var again = await DatabaseLock.AcquireAsync(info, database, noWait: true, NullReporter.Instance, CancellationToken.None);
        Assert.Equal(first, again.ConnectionString);
        Assert.DoesNotContain("BulkData import", first, StringComparison.OrdinalIgnoreCase);
    }
}
