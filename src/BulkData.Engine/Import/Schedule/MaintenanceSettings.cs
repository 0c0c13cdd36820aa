using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace BulkData.Engine.Import.Schedule;

/// <summary>What the session settings of an import's connections are chosen from.</summary>
/// <param name="MachineRamBytes">RAM of the server's machine when known (the server runs on this machine), else null.</param>
/// <param name="MachineCores">Cores of the server's machine when known, else null.</param>
/// <param name="ToastCompressionSource">Where the server's <c>default_toast_compression</c> comes from (pg_settings.source: <c>default</c> when nobody set it), or null on a server without it (before PostgreSQL 14).</param>
/// <param name="Lz4">Whether the server was built with lz4 (it is among default_toast_compression's values).</param>
/// <param name="Superuser">Whether the importing role is a superuser (it may set deadlock_timeout).</param>
internal sealed record ServerFacts(int MaxWorkerProcesses, int MaxParallelWorkers, long SharedBuffersBytes, long MaintenanceWorkMemBytes, long? MachineRamBytes, int? MachineCores, string? ToastCompressionSource = null, bool Lz4 = false, bool Superuser = false);

/// <summary>The session settings of an import's worker connections: those of its loads, and those of its post-data jobs.</summary>
internal sealed record SessionSettings(IReadOnlyDictionary<string, string> Load, IReadOnlyDictionary<string, string> PostData)
{
    public static SessionSettings None { get; } = new(new Dictionary<string, string>(), new Dictionary<string, string>());
}

/// <summary>
/// The session settings of an import's worker connections, chosen from the server and the concurrency, and
/// overridable (-ImportSetting):
/// <list type="bullet">
/// <item>Loads: <c>default_toast_compression = lz4</c> when the server has lz4 and nobody chose its
/// default_toast_compression (pg_settings.source is <c>default</c>: not in postgresql.conf, ALTER SYSTEM, DATABASE or
/// ROLE, nor the connection's options). Compressing the long values of a COPY with lz4 costs the server about half
/// the CPU of pglz (the COPY of the benchmark's opinions: 5.1 against 11.7 CPU-s) for about 15 % more space in
/// TOAST; the values read back the same. A column's own COMPRESSION still wins.</item>
/// <item>Loads and post-data: <c>deadlock_timeout = 100ms</c> when the importing role is a superuser (only one may set
/// it). An autovacuum of a table just loaded holds a lock that TRUNCATE, a key or a foreign key waits for; PostgreSQL
/// cancels it once the waiter has waited deadlock_timeout (1 s by default, which the benchmark's foreign keys met).</item>
/// <item>Post-data: <c>max_parallel_maintenance_workers</c>: the cores left over by the run's own connections, shared out:
/// (cores - connections) / connections, at most max_parallel_workers / connections and at most 8; 0 when every core
/// already has a connection (2 cores, -ThrottleLimit 2). Cores: the machine's when the server is on this machine,
/// else max_parallel_workers.</item>
/// <item>Post-data: <c>maintenance_work_mem</c> (per build, shared by its workers): a quarter of the RAM over the connections,
/// between 64 MB and 2 GB, never less than the server's own setting. RAM: the machine's when the server is on this
/// machine, else 4 x shared_buffers (shared_buffers is commonly a quarter of RAM).</item>
/// </list>
/// Overrides win, may name any other setting, and apply to loads and post-data alike (each is SET with set_config
/// on every worker connection).
/// </summary>
internal static class MaintenanceSettings
{
    public const string WorkMem = "maintenance_work_mem";
    public const string Workers = "max_parallel_maintenance_workers";
    public const string ToastCompression = "default_toast_compression";
    public const string DeadlockTimeout = "deadlock_timeout";

    private const long MB = 1024 * 1024;
    private static readonly Regex SettingName = new("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$", RegexOptions.CultureInvariant);

    /// <summary>The chosen settings of the loads (pure: <paramref name="facts"/>).</summary>
    public static IReadOnlyDictionary<string, string> ChooseLoad(ServerFacts facts)
    {
        var chosen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (facts.Lz4 && facts.ToastCompressionSource == "default")
        {
            chosen[ToastCompression] = "lz4";
        }

        AutovacuumGivesWay(facts, chosen);
        return chosen;
    }

    /// <summary>The chosen settings of post-data (pure: <paramref name="facts"/> and the number of connections at once).</summary>
    public static IReadOnlyDictionary<string, string> Choose(ServerFacts facts, int connections)
    {
        connections = Math.Max(1, connections);
        int cores = facts.MachineCores ?? Math.Max(1, facts.MaxParallelWorkers);
        int workers = Math.Max(0, (cores - connections) / connections);
        workers = Math.Min(workers, Math.Min(facts.MaxParallelWorkers / connections, 8));
        workers = Math.Max(0, Math.Min(workers, facts.MaxWorkerProcesses - 1));
        long ram = facts.MachineRamBytes ?? 4 * facts.SharedBuffersBytes;
        long mem = Math.Clamp(ram / 4 / connections, 64 * MB, 2048 * MB);
        mem = Math.Max(mem, facts.MaintenanceWorkMemBytes);
        var chosen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [WorkMem] = (mem / MB).ToString(CultureInfo.InvariantCulture) + "MB",
            [Workers] = workers.ToString(CultureInfo.InvariantCulture),
        };
        AutovacuumGivesWay(facts, chosen);
        return chosen;
    }

    private static void AutovacuumGivesWay(ServerFacts facts, Dictionary<string, string> chosen)
    {
        if (facts.Superuser)
        {
            chosen[DeadlockTimeout] = "100ms";
        }
    }

    /// <summary>The chosen settings with the overrides applied to both; checks each value on <paramref name="c"/> (a bad name or value fails here, naming it, before any table is touched).</summary>
    public static async Task<SessionSettings> ResolveAsync(NpgsqlConnection c, bool serverIsLocal, int connections, IReadOnlyDictionary<string, string>? overrides, IBulkReporter reporter, CancellationToken ct)
    {
        var facts = await FactsAsync(c, serverIsLocal, ct).ConfigureAwait(false);
        var load = new Dictionary<string, string>(ChooseLoad(facts), StringComparer.OrdinalIgnoreCase);
        var post = new Dictionary<string, string>(Choose(facts, connections), StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in overrides ?? new Dictionary<string, string>())
        {
            if (!SettingName.IsMatch(name))
            {
                throw new BulkDataException(BulkErrorKind.InvalidArgument, $"-ImportSetting: '{name}' is not a setting name.", name);
            }

            load[name] = value;
            post[name] = value;
        }

        // Every value tried once in a transaction that is rolled back.
        await using (var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false))
        {
            foreach (var (name, value) in load.Concat(post).DistinctBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase))
            {
                try
                {
                    await SetAsync(c, name, value, local: true, ct).ConfigureAwait(false);
                }
                catch (PostgresException e)
                {
                    throw new BulkDataException(BulkErrorKind.InvalidArgument, $"-ImportSetting {name} = '{value}': {e.MessageText} (SQLSTATE {e.SqlState}).", name, e);
                }
            }

            await tx.RollbackAsync(ct).ConfigureAwait(false);
        }

        static string List(Dictionary<string, string> d) => d.Count == 0 ? "none" : string.Join(", ", d.Select(kv => $"{kv.Key} = {kv.Value}"));
        reporter.Verbose($"Session settings for {connections} connection(s) ({Describe(facts)}): loads {List(load)}; post-data {List(post)}.");
        return new SessionSettings(load, post);
    }

    public static async Task ApplyAsync(NpgsqlConnection c, IReadOnlyDictionary<string, string> settings, CancellationToken ct)
    {
        foreach (var (name, value) in settings)
        {
            await SetAsync(c, name, value, local: false, ct).ConfigureAwait(false);
        }
    }

    private static async Task SetAsync(NpgsqlConnection c, string name, string value, bool local, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT set_config($1, $2, $3)", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        cmd.Parameters.Add(new NpgsqlParameter { Value = value });
        cmd.Parameters.Add(new NpgsqlParameter { Value = local });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static string Describe(ServerFacts f)
        => string.Create(CultureInfo.InvariantCulture, $"max_worker_processes {f.MaxWorkerProcesses}, max_parallel_workers {f.MaxParallelWorkers}, shared_buffers {f.SharedBuffersBytes / MB} MB, ")
           + (f.ToastCompressionSource is null ? "" : $"default_toast_compression from {f.ToastCompressionSource}{(f.Lz4 ? "" : ", no lz4")}, ")
           + (f.MachineRamBytes is { } ram ? string.Create(CultureInfo.InvariantCulture, $"machine {ram / MB} MB RAM, {f.MachineCores} cores") : "server on another machine");

    private static async Task<ServerFacts> FactsAsync(NpgsqlConnection c, bool serverIsLocal, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT current_setting('max_worker_processes')::int, current_setting('max_parallel_workers')::int,
                   pg_size_bytes(current_setting('shared_buffers')), pg_size_bytes(current_setting('maintenance_work_mem')),
                   (SELECT source FROM pg_settings WHERE name = 'default_toast_compression'),
                   coalesce((SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'), false),
                   current_setting('is_superuser') = 'on'
            """, c);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await r.ReadAsync(ct).ConfigureAwait(false);
        long? ram = serverIsLocal ? MachineRam() : null;
        int? cores = serverIsLocal ? Environment.ProcessorCount : null;
        return new ServerFacts(r.GetInt32(0), r.GetInt32(1), r.GetInt64(2), r.GetInt64(3), ram, cores, r.IsDBNull(4) ? null : r.GetString(4), r.GetBoolean(5), r.GetBoolean(6));
    }

    private static long MachineRam()
    {
        try
        {
            // MemTotal of /proc/meminfo (Linux), in kB; else what the runtime sees.
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (line is not null && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long kb))
            {
                return kb * 1024;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary>Whether a host names this machine (loopback, a Unix socket path, localhost).</summary>
    public static bool IsLocalHost(string host)
        => host.Split(',').All(h =>
        {
            h = h.Trim();
            return h.StartsWith('/') || h.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                || (System.Net.IPAddress.TryParse(h.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip));
        });
}
