using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// The lock of one target database, held for a whole import: a PostgreSQL session-level advisory lock taken on a
/// connection of its own to the maintenance database (so it can be taken before the target exists). Two imports into
/// one database run one after the other; the server drops the lock with the session, so a killed run never leaves it
/// behind. The holder names itself in its connection's application_name (process, host, start time), which a run
/// that has to wait shows in its progress or, with NoWait, in its error.
/// </summary>
internal sealed class DatabaseLock : IAsyncDisposable
{
    /// <summary>The first key of BulkData's advisory locks ("BULK"); the second is derived from the database name.</summary>
    internal const int LockClass = 0x42554C4B;

    private readonly NpgsqlConnection _connection;

    private DatabaseLock(NpgsqlConnection connection) => _connection = connection;

    /// <summary>The lock's connection string: the same for every run (its holder's name is set after connecting).</summary>
    internal string ConnectionString => _connection.ConnectionString;

    /// <summary>The second key of the advisory lock of <paramref name="database"/>: stable across processes and hosts.</summary>
    internal static int KeyOf(string database) => BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(database)), 0);

    public static async Task<DatabaseLock> AcquireAsync(PgConnectionInfo connection, string database, bool noWait, IBulkReporter reporter, CancellationToken ct, TimeSpan? pollInterval = null)
    {
        // The run's start (when it takes the lock).
        string started = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

        // application_name is at most 63 bytes on the server: the host is cut to fit.
        string host = Environment.MachineName.Length > 20 ? Environment.MachineName[..20] : Environment.MachineName;
        string name = string.Create(CultureInfo.InvariantCulture, $"BulkData import pid {Environment.ProcessId} {host} {started}");
        // The name goes in after connecting, not into the connection string: Npgsql keeps a data source (and the
        // server's type catalog) for every distinct connection string for the life of the process, so a string
        // holding the start time would leave one behind per import (the soak's growth, docs/benchmarks.md).
        var conn = new NpgsqlConnection(connection.AdminConnectionString);
        int key = KeyOf(database);
        ProgressReporter? progress = null;
        try
        {
            await BulkImporter.OpenAsync(conn, connection, ct).ConfigureAwait(false);
            await using (var named = new NpgsqlCommand("SELECT set_config('application_name', $1, false)", conn))
            {
                named.Parameters.Add(new NpgsqlParameter { Value = name });
                await named.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            var waited = Stopwatch.StartNew();
            var poll = pollInterval ?? TimeSpan.FromMilliseconds(250);
            ProgressReporter.Bar? bar = null;
            while (true)
            {
                await using (var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, $2)", conn))
                {
                    cmd.Parameters.Add(new NpgsqlParameter { Value = LockClass });
                    cmd.Parameters.Add(new NpgsqlParameter { Value = key });
                    if ((bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!)
                    {
                        reporter.Verbose($"Locked the database '{database}' for this import (advisory lock {LockClass}, {key}){(bar is not null ? $" after waiting {waited.Elapsed.TotalSeconds:0.#} s" : string.Empty)}.");
                        return new DatabaseLock(conn);
                    }
                }

                string owner = await OwnerAsync(conn, key, ct).ConfigureAwait(false);
                if (noWait)
                {
                    throw new BulkDataException(BulkErrorKind.InUse, $"The database '{database}' is being imported by {owner}; -NoWait was given, so nothing was done. Wait for that import to end, or run again without -NoWait to wait for it.", database);
                }

                if (bar is null)
                {
                    reporter.Verbose($"The database '{database}' is being imported by {owner}: waiting for it to finish.");
                    progress = new ProgressReporter(reporter);
                    bar = progress.Begin($"Waiting for the import lock of database '{database}'");
                }

                bar.Status(string.Create(CultureInfo.InvariantCulture, $"in use by {owner}; waited {waited.Elapsed.TotalSeconds:0} s"));
                await Task.Delay(poll, ct).ConfigureAwait(false);
            }
        }
        catch
        {
            await conn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            progress?.Dispose();
        }
    }

    private static async Task<string> OwnerAsync(NpgsqlConnection conn, int key, CancellationToken ct)
    {
        const string sql = """
            SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'), a.backend_start
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ($1::bigint & 4294967295)::oid AND l.objid = ($2::bigint & 4294967295)::oid AND l.objsubid = 2
            LIMIT 1
            """;
        await using var cmd = new NpgsqlCommand(sql, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (long)LockClass });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (long)key });
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            return "another session (it has just ended)";
        }

        string app = reader.GetString(1);
        var since = reader.GetFieldValue<DateTime>(3).ToUniversalTime();
        return string.Create(CultureInfo.InvariantCulture, $"{(app.Length > 0 ? app : "a session")} (server session {reader.GetInt32(0)} from {reader.GetString(2)}, connected {since:yyyy-MM-dd HH:mm:ss} UTC)");
    }

    public async ValueTask DisposeAsync()
    {
        // Closing the session releases its advisory locks.
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
