using System.Collections.Concurrent;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>What a worker connection was last set up for.</summary>
internal enum WorkerUse
{
    Load,
    PostData,
}

/// <summary>
/// The worker connections of one import, shared by table loads and post-data jobs: an idle one is reused before a
/// new one is opened, so with the scheduler never running more than -ThrottleLimit pieces of work at once, no more
/// than that many worker connections are ever open. A connection taken for a load gets the load session settings
/// once (default_toast_compression and the like); one taken for post-data gets the post-data session settings once
/// (the schema script's SETs, maintenance_work_mem and the like), and one taken for a load after that is RESET and
/// given the load settings again. Every worker connection carries the application_name <see cref="ApplicationName"/>.
/// </summary>
internal sealed class WorkerConnections : IAsyncDisposable
{
    private readonly PgConnectionInfo _info;
    private readonly Func<NpgsqlConnection, CancellationToken, Task> _loadSetup;
    private readonly Func<NpgsqlConnection, CancellationToken, Task> _postDataSetup;
    private readonly ConcurrentBag<Worker> _idle = new();

    public WorkerConnections(PgConnectionInfo info, Func<NpgsqlConnection, CancellationToken, Task> loadSetup, Func<NpgsqlConnection, CancellationToken, Task> postDataSetup)
    {
        _loadSetup = loadSetup;
        ApplicationName = $"BulkData worker pid {Environment.ProcessId}";
        _info = info.WithApplicationName(ApplicationName);
        _postDataSetup = postDataSetup;
    }

    /// <summary>The application_name of every worker connection (so a run's connections can be counted in pg_stat_activity).</summary>
    public string ApplicationName { get; }

    /// <summary>An open connection set up for <paramref name="use"/>; give it back with <see cref="Return"/>, or dispose it when broken.</summary>
    public async Task<Worker> RentAsync(WorkerUse use, CancellationToken ct)
    {
        if (!_idle.TryTake(out var w))
        {
            var c = _info.CreateConnection();
            try
            {
                await BulkImporter.OpenAsync(c, _info, ct).ConfigureAwait(false);
            }
            catch
            {
                await c.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            w = new Worker(c);
        }

        if (use != w.Use)
        {
            try
            {
                if (use == WorkerUse.PostData)
                {
                    await _postDataSetup(w.Connection, ct).ConfigureAwait(false);
                }
                else
                {
                    if (w.Use is not null)
                    {
                        await using var reset = new NpgsqlCommand("RESET ALL", w.Connection);
                        await reset.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                    }

                    await _loadSetup(w.Connection, ct).ConfigureAwait(false);
                }
            }
            catch
            {
                await w.Connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            w.Use = use;
        }

        return w;
    }

    /// <summary>Gives back a connection in a known state (open, no transaction); anything else is closed.</summary>
    public async Task ReturnAsync(Worker w, bool healthy)
    {
        if (healthy && w.Connection.State == System.Data.ConnectionState.Open)
        {
            _idle.Add(w);
            return;
        }

        await w.Connection.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var w))
        {
            await w.Connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal sealed class Worker(NpgsqlConnection connection)
    {
        public NpgsqlConnection Connection { get; } = connection;

        /// <summary>What the connection is set up for; null when new.</summary>
        public WorkerUse? Use { get; set; }
    }
}
