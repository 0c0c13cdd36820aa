using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// Invoke-BulkImport -Online: refreshes tables that exist and are in use without emptying them. Each table of the
/// dump is loaded into a staging schema as a copy of the live definition (<see cref="StagingCopy"/>), its
/// indexes, keys and triggers are built there in parallel and its foreign keys validated, then every table is
/// swapped in one transaction (<see cref="GenerationSwap"/>). The previous generation is kept (-KeepPrevious) or
/// dropped once the swap committed. The journal (<see cref="GenerationJournal"/>) lets a re-run resume the staging.
/// </summary>
internal sealed class OnlineImporter
{
    private readonly ImportOptions _options;
    private readonly IBulkReporter _reporter;

    public OnlineImporter(ImportOptions options, IBulkReporter reporter)
    {
        _options = options;
        _reporter = reporter;
    }

    private static string Q(string s) => QualifiedName.QuoteIdentifier(s);

    /// <summary>The error for objects that would keep pointing at the old generation.</summary>
    internal static string DependentsError(Dependents d, string when)
    {
        var lines = d.Views.Select(v => $"{v}: follows the table's OID, so it would keep reading the old generation")
            .Concat(d.AtomicFunctions.Select(f => $"{f}: a SQL function with a BEGIN ATOMIC body, bound to the table's OID"))
            .Concat(d.Unsupported.Select(u => $"{u}: bound to the table's OID"));
        return $"-Online cannot swap tables that these objects are bound to ({when} was not started; nothing was loaded or changed):{Environment.NewLine}  "
            + string.Join(Environment.NewLine + "  ", lines)
            + $"{Environment.NewLine}Drop them before the refresh and create them again after it, or import without -Online.";
    }

    /// <summary>Runs the refresh of <paramref name="todo"/>; returns the generation, and how many tables failed (0 when it was swapped in).</summary>
    public async Task<(BulkGeneration? Generation, int Failed)> RunAsync(PgConnectionInfo conn, NpgsqlConnection main, ImportPlan plan, IReadOnlyList<TableJob> todo, Action<ImportResult> emit, CancellationToken ct)
    {
        await GenerationJournal.EnsureAsync(main, ct).ConfigureAwait(false);
        foreach (var pending in await GenerationJournal.PendingDropsAsync(main, ct).ConfigureAwait(false))
        {
            // A run that stopped between its swap and dropping the previous tables.
            await GenerationSwap.DropPreviousAsync(conn, pending, _reporter, ct).ConfigureAwait(false);
        }

        if (todo.Count == 0)
        {
            _reporter.Verbose("-Online: every table is already loaded from these files; nothing to swap.");
            return (null, 0);
        }

        await using var ddl = conn.CreateConnection();
        await BulkImporter.OpenAsync(ddl, conn, ct).ConfigureAwait(false);
        await LiveCatalog.UseCatalogSearchPathAsync(ddl, ct).ConfigureAwait(false);

        // The live definitions and what names them, before anything is loaded.
        var live = new List<LiveTable>();
        foreach (var job in todo)
        {
            live.Add(await LiveCatalog.ReadAsync(ddl, job.Schema, job.Table, ct).ConfigureAwait(false));
        }

        var deps = await LiveCatalog.DependentsAsync(ddl, live.Select(t => t.Sql).ToList(), ct).ConfigureAwait(false);
        if (deps.Views.Count > 0 || deps.AtomicFunctions.Count > 0 || deps.Unsupported.Count > 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, DependentsError(deps, "the staging load"), plan.Database);
        }

        foreach (var f in deps.FunctionsByName)
        {
            _reporter.Verbose($"-Online: function {f} names a swapped table in its body; it resolves names when it runs, so it reads the new generation after the swap.");
        }

        foreach (var f in deps.ForeignKeys)
        {
            _reporter.Verbose($"-Online: foreign key {f.Name} of {f.Table} (not in the dump) references {f.References}: re-pointed at the new generation in the swap, NOT VALID, then validated.");
        }

        // Disk: the staging generation needs about what the live tables take now.
        var (needed, free, where) = await MeasureSpaceAsync(ddl, conn, live, ct).ConfigureAwait(false);
        string room = free is null ? $"free space not measured ({where})" : $"{free.Value:N0} bytes free at {where}";
        _reporter.Verbose($"-Online: the staging generation needs about {needed:N0} bytes in database {plan.Database} (pg_total_relation_size of the {live.Count} live table(s)); {room}.");
        if (free is not null && free.Value < needed && !_options.Force)
        {
            throw new BulkDataException(BulkErrorKind.InsufficientSpace,
                $"-Online needs about {needed:N0} bytes for the staging generation of {live.Count} table(s) in database {plan.Database}, but {where} has {free.Value:N0} bytes free; nothing was loaded. Free space, or give -Force to try anyway.", plan.Database);
        }

        if (free is null)
        {
            _reporter.Warning($"-Online: the staging generation needs about {needed:N0} bytes in database {plan.Database}; {room}: make sure the server has that room.");
        }

        _reporter.Warning($"-Online: rows written to {string.Join(", ", live.Select(t => t.Qualified))} while the new generation loads are not in it: the swap replaces the tables whole. Stop the writers (readers may go on), or accept losing their changes.");

        // The generation: a stopped run's staging is resumed.
        var gen = await GenerationJournal.StagingAsync(main, ct).ConfigureAwait(false);
        var tables = live.Select(t => t.Qualified).ToList();
        if (gen is null)
        {
            gen = await GenerationJournal.BeginAsync(main, tables, _options.KeepPrevious, needed, ct).ConfigureAwait(false);
        }
        else
        {
            _reporter.Verbose($"-Online: resuming generation {gen.Id} (staging schema {gen.StagingSchema}).");
            await GenerationJournal.UpdateStagingAsync(main, gen.Id, tables, _options.KeepPrevious, needed, ct).ConfigureAwait(false);
            foreach (var gone in gen.Tables.Except(tables, StringComparer.OrdinalIgnoreCase))
            {
                await ExecAsync(ddl, $"DROP TABLE IF EXISTS {Q(gen.StagingSchema)}.{Q(gone[(gone.IndexOf('.') + 1)..])} CASCADE", ct).ConfigureAwait(false);
            }

            gen = gen with { Tables = tables.ToArray(), KeepPrevious = _options.KeepPrevious };
        }

        await ExecAsync(ddl, $"CREATE SCHEMA IF NOT EXISTS {Q(gen.StagingSchema)}", ct).ConfigureAwait(false);
        var staged = await GenerationJournal.StagedAsync(main, gen.Id, ct).ConfigureAwait(false);

        // Load: each table into its staging copy, -ThrottleLimit at once, on connections of their own.
        var results = new List<ImportResult>();
        int failed = await LoadAsync(conn, ddl, main, plan, gen, todo, live, staged, results, emit, ct).ConfigureAwait(false);
        if (failed > 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData,
                $"-Online: {failed} table(s) failed to load into the staging schema {gen.StagingSchema}: nothing was swapped, the live tables are as they were. Run again once they are fixed: the staged tables are kept and skipped.", plan.Database);
        }

        // Build: indexes, keys and checks; foreign keys NOT VALID; their validations and the triggers.
        var orphans = await BuildAsync(conn, gen, live, ct).ConfigureAwait(false);

        var max = await GenerationSwap.MaxValuesAsync(ddl, gen.StagingSchema, live, ct).ConfigureAwait(false);
        var swap = await GenerationSwap.SwapAsync(conn,
            new SwapPlan(gen.Id, live.Select(t => (t.Schema, t.Name)).ToList(), gen.StagingSchema, gen.PreviousSchema, max),
            tx => GenerationJournal.RecordSwapAsync(tx, gen.Id, ct), _reporter, ct).ConfigureAwait(false);
        _reporter.Verbose($"-Online: generation {gen.Id} swapped in ({live.Count} table(s), {swap.Attempts} attempt(s)); the previous generation is in {gen.PreviousSchema}.");

        orphans.AddRange(await GenerationSwap.ValidateRepointedAsync(conn, swap.RepointedKeys, _reporter, ct).ConfigureAwait(false));
        bool dropped = false;
        if (!_options.KeepPrevious)
        {
            dropped = await GenerationSwap.DropPreviousAsync(conn, gen, _reporter, ct).ConfigureAwait(false);
        }

        await ExecAsync(ddl, $"DROP SCHEMA IF EXISTS {Q(gen.StagingSchema)}", ct).ConfigureAwait(false);
        foreach (var r in results)
        {
            emit(r);
        }

        var row = await GenerationJournal.GetAsync(main, null, gen.Id, ct).ConfigureAwait(false);
        return (new BulkGeneration
        {
            Generation = gen.Id, Database = plan.Database, State = row?.State ?? "Swapped", Tables = tables, StagingSchema = gen.StagingSchema,
            PreviousSchema = dropped ? null : gen.PreviousSchema, StagingBytes = needed, FreeBytes = free, SwapAttempts = swap.Attempts,
            SwappedAt = row?.SwappedAt, Orphans = orphans,
        }, 0);
    }

    private async Task<int> LoadAsync(PgConnectionInfo conn, NpgsqlConnection ddl, NpgsqlConnection main, ImportPlan plan, GenerationRow gen, IReadOnlyList<TableJob> todo, List<LiveTable> live,
        Dictionary<string, JournalEntry> staged, List<ImportResult> results, Action<ImportResult> emit, CancellationToken ct)
    {
        var work = new List<TableJob>();
        foreach (var (job, t) in todo.Zip(live))
        {
            bool exists = await ScalarAsync(ddl, $"SELECT to_regclass('{(Q(gen.StagingSchema) + "." + Q(t.Name)).Replace("'", "''")}') IS NOT NULL", ct).ConfigureAwait(false) is true;
            if (exists && staged.TryGetValue(job.QualifiedTable, out var entry) && entry.IsSameFile(job))
            {
                _reporter.Verbose($"{job.QualifiedTable}: already staged in {gen.StagingSchema} from {job.FileName} ({entry.Rows} rows); not loaded again.");
                results.Add(Result(job, plan, ImportStatus.Imported, entry.Rows, 0, TimeSpan.Zero, null, $"staged by an earlier run (generation {gen.Id})"));
                continue;
            }

            await GenerationJournal.ForgetStagedAsync(main, gen.Id, job.QualifiedTable, ct).ConfigureAwait(false);
            await using (var tx = await ddl.BeginTransactionAsync(ct).ConfigureAwait(false))
            {
                foreach (var sql in StagingCopy.CreateSql(gen.StagingSchema, t))
                {
                    await using var cmd = new NpgsqlCommand(sql, ddl, tx) { CommandTimeout = 0 };
                    await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await tx.CommitAsync(ct).ConfigureAwait(false);
            }

            work.Add(job);
        }

        long total = work.Sum(j => j.Bytes);
        long done = 0;
        int tablesDone = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var progress = new ProgressReporter(_reporter);
        var bar = progress.Begin($"Staging generation {gen.Id} of {plan.Database}");
        var loader = new TableLoader(_options.DecoderThreads, _reporter, (table, delta) =>
        {
            long now = Interlocked.Add(ref done, delta);
            bar.Report(() => ImportProgress.Of(now, total, Volatile.Read(ref tablesDone), work.Count, clock.Elapsed), table);
        })
        {
            ExcludeExtraColumns = _options.ExcludeExtraColumns,
            Record = (tx, job, sha, rows, token) => GenerationJournal.RecordStagedAsync(tx, gen.Id, job, sha, rows, token),
        };

        int failed = 0;
        var gate = new object();
        await BoundedRunner.RunAsync(work, _options.ThrottleLimit, async (job, _) =>
        {
            await using var c = conn.CreateConnection();
            TableLoad load;
            try
            {
                await BulkImporter.OpenAsync(c, conn, ct).ConfigureAwait(false);
                load = await loader.LoadAsync(c, job, false, gen.StagingSchema, ct).ConfigureAwait(false);
                if (load.OtherDialect is { } other && !job.DialectReason.StartsWith(DialectSniffer.Stated, StringComparison.Ordinal) && other != load.Dialect)
                {
                    _reporter.Warning($"{job.QualifiedTable}: {load.Error} Loading it again as {other.Name}.");
                    var retry = job with { Dialect = other, DialectReason = $"{DialectSniffer.Sniffed} (reloaded: {load.Dialect?.Name} misread the bytes)" };
                    load = await loader.LoadAsync(c, retry, false, gen.StagingSchema, ct).ConfigureAwait(false);
                }
            }
            catch (BulkDataException e) when (!ct.IsCancellationRequested)
            {
                load = new TableLoad(0, 0, TimeSpan.Zero, $"file {job.FilePath}, table {job.QualifiedTable}: {e.Message}");
            }

            Interlocked.Increment(ref tablesDone);
            if (load.Error is not null)
            {
                Interlocked.Increment(ref failed);
                _reporter.Warning($"{job.QualifiedTable} failed and was rolled back (staging; the live table is untouched): {load.Error}");
                emit(Result(job, plan, ImportStatus.Failed, 0, load.BytesRead, load.Duration, load.Error, null, load));
                return;
            }

            lock (gate)
            {
                results.Add(Result(job, plan, ImportStatus.Imported, load.Rows, load.BytesRead, load.Duration, null, null, load));
            }
        }, ct).ConfigureAwait(false);
        bar.Complete();
        ct.ThrowIfCancellationRequested();
        return failed;
    }

    private async Task<List<ForeignKeyOrphans>> BuildAsync(PgConnectionInfo conn, GenerationRow gen, List<LiveTable> live, CancellationToken ct)
    {
        var inDump = live.ToDictionary(t => t.Qualified, t => (t.DefName, StagingCopy.StagingSql(gen.StagingSchema, t)), StringComparer.OrdinalIgnoreCase);
        var first = new List<BuildStep>();
        var keys = new List<BuildStep>();
        var last = new List<BuildStep>();
        foreach (var t in live)
        {
            var (f, k, l) = StagingCopy.BuildSteps(gen.StagingSchema, t, inDump);
            first.AddRange(f);
            keys.AddRange(k);
            last.AddRange(l);
        }

        var errors = new List<string>();
        var orphans = new List<ForeignKeyOrphans>();
        var gate = new object();
        async Task WaveAsync(IReadOnlyList<BuildStep> steps, int limit, Func<NpgsqlConnection, BuildStep, Task> run)
        {
            await BoundedRunner.RunAsync(steps, limit, async (step, _) =>
            {
                await using var c = conn.CreateConnection();
                try
                {
                    await BulkImporter.OpenAsync(c, conn, ct).ConfigureAwait(false);
                    await LiveCatalog.UseCatalogSearchPathAsync(c, ct).ConfigureAwait(false);
                    await run(c, step).ConfigureAwait(false);
                }
                catch (PostgresException e) when (!ct.IsCancellationRequested)
                {
                    lock (gate)
                    {
                        errors.Add($"{step.Table}: {step.Kind} {step.Name}: {e.MessageText}{(e.Detail is null ? "" : $" ({e.Detail})")} [SQLSTATE {e.SqlState}]");
                    }
                }
            }, ct).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }

        async Task CreateAsync(NpgsqlConnection c, BuildStep step)
        {
            if (await StagingCopy.ExistsAsync(c, gen.StagingSchema, step, ct).ConfigureAwait(false))
            {
                return;
            }

            _reporter.Verbose($"{step.Table} (staging): {step.Sql}");
            await ExecAsync(c, step.Sql, ct).ConfigureAwait(false);
        }

        await WaveAsync(first, _options.ThrottleLimit, CreateAsync).ConfigureAwait(false);
        ThrowIfAny(errors, gen);
        await WaveAsync(keys, 1, CreateAsync).ConfigureAwait(false);
        ThrowIfAny(errors, gen);
        await WaveAsync(keys.Where(k => k.ValidateSql is not null).ToList(), _options.ThrottleLimit, async (c, step) =>
        {
            if (await StagingCopy.ValidatedAsync(c, gen.StagingSchema, step, ct).ConfigureAwait(false))
            {
                return;
            }

            try
            {
                await ExecAsync(c, step.ValidateSql!, ct).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
            {
                // Orphans (against the staged parent when it is in the dump, else the live one): the key stays NOT VALID.
                string name = step.Table[(step.Table.IndexOf('.') + 1)..];
                var o = await ImportVerifier.OrphansOfAsync(c, null, $"{gen.StagingSchema}.{name}", step.Name, false, ct).ConfigureAwait(false);
                string references = o.References.Replace(gen.StagingSchema + ".", live.First(t => t.Name == name).Schema + ".", StringComparison.Ordinal);
                o = new ForeignKeyOrphans { Table = step.Table, Constraint = o.Constraint, Columns = o.Columns, References = references, Count = o.Count, SampleKeys = o.SampleKeys };
                _reporter.Warning($"{step.Table}: {o.Count} row(s) whose {o.Columns} have no match in {references} (foreign key {step.Name}, e.g. {string.Join(", ", o.SampleKeys)}); the key stays NOT VALID (it checks new rows).");
                lock (gate)
                {
                    orphans.Add(o);
                }
            }
        }).ConfigureAwait(false);
        ThrowIfAny(errors, gen);
        await WaveAsync(last, 1, CreateAsync).ConfigureAwait(false);
        ThrowIfAny(errors, gen);
        return orphans;
    }

    private static void ThrowIfAny(List<string> errors, GenerationRow gen)
    {
        if (errors.Count > 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData,
                $"-Online: the staging generation {gen.Id} ({gen.StagingSchema}) could not be built as the live tables are; nothing was swapped, the live tables are as they were:{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", errors), gen.StagingSchema);
        }
    }

    /// <summary>
    /// The bytes the live tables take (pg_total_relation_size: heap, indexes, TOAST), and the free bytes where the
    /// database's tablespace lives, measured only when the server runs on this machine (a loopback host or a
    /// Unix socket) and the role may read its location (superuser or pg_read_all_settings).
    /// </summary>
    private static async Task<(long Needed, long? Free, string Where)> MeasureSpaceAsync(NpgsqlConnection c, PgConnectionInfo conn, List<LiveTable> live, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT COALESCE(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM unnest($1::text[]) t", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = live.Select(t => t.Sql).ToArray() });
        long needed = Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false));
        string host = conn.Host;
        bool local = host.StartsWith('/') || host is "localhost" || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));
        if (!local)
        {
            return (needed, null, $"the server {host} is not on this machine");
        }

        string? dir;
        try
        {
            await using var loc = new NpgsqlCommand("SELECT COALESCE(NULLIF(pg_tablespace_location(d.dattablespace), ''), current_setting('data_directory')) FROM pg_database d WHERE d.datname = current_database()", c);
            dir = await loc.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return (needed, null, "the role may not read the server's data_directory");
        }

        if (string.IsNullOrEmpty(dir))
        {
            return (needed, null, "the server did not name its data directory");
        }

        try
        {
            return (needed, new DriveInfo(dir).AvailableFreeSpace, dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return (needed, null, $"{dir} cannot be measured from here ({e.Message})");
        }
    }

    private static ImportResult Result(TableJob job, ImportPlan plan, ImportStatus status, long rows, long bytes, TimeSpan duration, string? error, string? note, TableLoad? load = null)
        => new()
        {
            Table = job.QualifiedTable, Dataset = job.Dataset, File = job.FilePath, Rows = rows, Bytes = bytes, Duration = duration,
            Status = status, Error = error, Database = plan.Database, Dialect = load?.Dialect?.Name ?? job.Dialect.Name, DialectReason = load?.DialectReason ?? job.DialectReason,
            ExcludedColumns = load?.ExcludedColumns ?? Array.Empty<string>(), DroppedValues = load?.DroppedValues ?? 0,
            Warnings = note is null ? Array.Empty<string>() : new[] { note },
        };

    private static async Task<object?> ScalarAsync(NpgsqlConnection c, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
    }

    private static async Task ExecAsync(NpgsqlConnection c, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
