using BulkData.Engine.Import.Schedule;
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
        var lines = d.Views.Select(v => $"{v}: follows the table's OID and holds its rows, so it would keep the old generation")
            .Concat(d.AtomicFunctions.Select(f => $"{f}: a SQL function with a BEGIN ATOMIC body, bound to the table's OID"))
            .Concat(d.Unsupported.Select(u => $"{u}: bound to the table's OID"))
            .Concat(d.NotOwned.Select(o => $"{o}: the swap alters it, which only its owner may do, and {d.Role} is not a member of that role"));
        return $"-Online cannot swap tables that these objects are bound to ({when} was not started; nothing was loaded or changed):{Environment.NewLine}  "
            + string.Join(Environment.NewLine + "  ", lines)
            + (d.Views.Count + d.AtomicFunctions.Count + d.Unsupported.Count > 0 ? $"{Environment.NewLine}Drop the objects bound to the tables before the refresh and create them again after it, or import without -Online." : string.Empty)
            + (d.NotOwned.Count > 0 ? $"{Environment.NewLine}Run the refresh as the owner of what it alters (or a member of that role; -ConnectionString), or give {d.Role} that role: GRANT <owner> TO {d.Role}." : string.Empty);
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
        if (deps.Blocks)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, DependentsError(deps, "the staging load"), plan.Database);
        }

        foreach (var v in deps.PlainViews)
        {
            _reporter.Verbose($"-Online: view {v.Name} selects from a swapped table: its query is made again on the new generation in the swap (CREATE OR REPLACE VIEW: same owner, grants and options).");
        }

        foreach (var f in deps.FunctionsByName)
        {
            _reporter.Verbose($"-Online: function {f} names a swapped table in its body; it resolves names when it runs, so it reads the new generation after the swap.");
        }

        foreach (var f in deps.ForeignKeys)
        {
            _reporter.Verbose($"-Online: foreign key {f.Name} of {f.Table} (not in the dump) references {f.References}: re-pointed at the new generation in the swap, NOT VALID, then validated.");
        }

        // Disk: the staging generation needs about what the live tables take now (StagingSpace).
        var space = await StagingSpace.MeasureAsync(ddl, conn.Host, MaintenanceSettings.IsLocalHost(conn.Host), live.Select(t => t.Sql).ToList(), ct).ConfigureAwait(false);
        long needed = space.Needed;
        long? free = space.Free;
        _reporter.Verbose($"-Online: {StagingSpace.Summary(space, plan.Database)}.");
        if (StagingSpace.Shortfall(space, plan.Database, _options.Force) is { } shortfall)
        {
            throw shortfall;
        }

        if (StagingSpace.UncheckedWarning(space, plan.Database) is { } notChecked)
        {
            _reporter.Warning(notChecked);
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
                string stale = $"{gen.StagingSchema}.{gone[(gone.IndexOf('.') + 1)..]}";
                await StagingDdl.RunAsync(ddl, $"DROP TABLE IF EXISTS {Q(gen.StagingSchema)}.{Q(gone[(gone.IndexOf('.') + 1)..])} CASCADE",
                    $"-Online: dropping {stale}, staged by an earlier run for a table this dump does not refresh", stale, ct).ConfigureAwait(false);
            }

            gen = gen with { Tables = tables.ToArray(), KeepPrevious = _options.KeepPrevious };
        }

        await StagingDdl.RunAsync(ddl, $"CREATE SCHEMA IF NOT EXISTS {Q(gen.StagingSchema)}", $"-Online: creating the staging schema {gen.StagingSchema} (generation {gen.Id}; nothing was loaded)", gen.StagingSchema, ct).ConfigureAwait(false);
        var staged = await GenerationJournal.StagedAsync(main, gen.Id, ct).ConfigureAwait(false);

        // Load and build on one schedule: each table into its staging copy, its indexes and keys as soon as it is
        // committed, foreign keys NOT VALID then validated, triggers last; -ThrottleLimit connections in all.
        var results = new List<ImportResult>();
        var (failed, orphans) = await StageAsync(conn, ddl, main, plan, gen, todo, live, staged, results, emit, ct).ConfigureAwait(false);
        if (failed > 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData,
                $"-Online: {failed} table(s) failed to load into the staging schema {gen.StagingSchema}: nothing was swapped, the live tables are as they were. Run again once they are fixed: the staged tables are kept and skipped.", plan.Database);
        }

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

        await StagingDdl.RunAsync(ddl, $"DROP SCHEMA IF EXISTS {Q(gen.StagingSchema)}", $"-Online: dropping the emptied staging schema {gen.StagingSchema} (generation {gen.Id} is swapped in)", gen.StagingSchema, ct).ConfigureAwait(false);
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

    /// <summary>
    /// The staging generation on the import's one schedule (<see cref="ImportScheduler"/>): the table loads into the
    /// staging copies and their build jobs (<see cref="StagingJobs"/>) share -ThrottleLimit worker connections, each
    /// table's indexes and keys starting once its load committed, while other tables still load. A resumed run skips
    /// the tables staged from the same files and the build steps the catalog holds already (each is its own
    /// transaction, so what exists is done). Returns how many tables failed and the orphans of the validations.
    /// </summary>
    private async Task<(int Failed, List<ForeignKeyOrphans> Orphans)> StageAsync(PgConnectionInfo conn, NpgsqlConnection ddl, NpgsqlConnection main, ImportPlan plan, GenerationRow gen, IReadOnlyList<TableJob> todo, List<LiveTable> live,
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
            await StagingDdl.RunAsync(ddl, StagingCopy.CreateSql(gen.StagingSchema, t), $"-Online: creating the staging copy {gen.StagingSchema}.{t.Name} of {t.Qualified} (generation {gen.Id}; the live table is untouched)", $"{gen.StagingSchema}.{t.Name}", ct).ConfigureAwait(false);
            work.Add(job);
        }

        // The build jobs; those the catalog holds already (a resumed run) are done.
        var jobs = StagingJobs.Build(gen.StagingSchema, live);
        var byId = jobs.ToDictionary(j => j.Job.Id, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var j in jobs)
        {
            bool isDone = j.Job.Kind == Schema.PostDataJobKind.Validate
                ? await StagingCopy.ValidatedAsync(ddl, gen.StagingSchema, j.Step, ct).ConfigureAwait(false)
                : await StagingCopy.ExistsAsync(ddl, gen.StagingSchema, j.Step, ct).ConfigureAwait(false);
            if (isDone)
            {
                done.Add(j.Job.Id);
            }
        }

        var settings = work.Count > 0 || jobs.Count > done.Count
            ? await MaintenanceSettings.ResolveAsync(main, MaintenanceSettings.IsLocalHost(conn.Host), _options.ThrottleLimit, _options.SessionSettings, _reporter, ct).ConfigureAwait(false)
            : SessionSettings.None;
        await using var workers = new WorkerConnections(
            conn,
            (c, t) => MaintenanceSettings.ApplyAsync(c, settings.Load, t),
            async (c, t) =>
            {
                // Definitions were read with search_path = pg_catalog (every other name qualified): built the same way.
                await LiveCatalog.UseCatalogSearchPathAsync(c, t).ConfigureAwait(false);
                await MaintenanceSettings.ApplyAsync(c, settings.PostData, t).ConfigureAwait(false);
            });

        long total = work.Sum(j => j.Bytes);
        long bytesDone = 0;
        int tablesDone = 0, jobsDone = 0, jobsTodo = jobs.Count - done.Count;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var progress = new ProgressReporter(_reporter);
        var bar = progress.Begin($"Staging generation {gen.Id} of {plan.Database}");
        using var buildProgress = new ProgressReporter(_reporter);
        ProgressReporter.Bar? buildBar = null;
        var loader = new TableLoader(_options.DecoderThreads, _reporter, (table, delta) =>
        {
            long now = Interlocked.Add(ref bytesDone, delta);
            bar.Report(() => ImportProgress.Of(now, total, Volatile.Read(ref tablesDone), work.Count, clock.Elapsed), table);
        })
        {
            ExcludeExtraColumns = _options.ExcludeExtraColumns,
            Record = (tx, job, sha, rows, token) => GenerationJournal.RecordStagedAsync(tx, gen.Id, job, sha, rows, token),
        };

        var gate = new object();
        var orphans = new List<ForeignKeyOrphans>();
        async Task<bool> Load(TableJob job, int streams, CancellationToken token)
        {
            TableLoad load;
            WorkerConnections.Worker? w = null;
            bool healthy = false;
            try
            {
                w = await workers.RentAsync(WorkerUse.Load, token).ConfigureAwait(false);
                load = await loader.LoadAsync(w.Connection, job, false, gen.StagingSchema, token).ConfigureAwait(false);
                if (TableLoader.ReloadInOtherDialect(job, load) is { } retry)
                {
                    _reporter.Warning($"{job.QualifiedTable}: {load.Error} Loading it again as {retry.Dialect.Name}.");
                    load = await loader.LoadAsync(w.Connection, retry, false, gen.StagingSchema, token).ConfigureAwait(false);
                }

                healthy = load.Error is null;
            }
            catch (BulkDataException e) when (!token.IsCancellationRequested)
            {
                load = new TableLoad(0, 0, TimeSpan.Zero, $"file {job.FilePath}, table {job.QualifiedTable}: {e.Message}");
            }
            finally
            {
                if (w is not null)
                {
                    await workers.ReturnAsync(w, healthy).ConfigureAwait(false);
                }
            }

            int finished = Interlocked.Increment(ref tablesDone);
            var state = ImportProgress.Of(Interlocked.Read(ref bytesDone), total, finished, work.Count, clock.Elapsed);
            bar.Status(state.Status, state.Percent, state.SecondsRemaining, $"{job.QualifiedTable} {(load.Error is null ? "staged" : "failed")}", force: true);
            if (load.Error is not null)
            {
                _reporter.Warning($"{job.QualifiedTable} failed and was rolled back (staging; the live table is untouched): {load.Error}");
                emit(Result(job, plan, ImportStatus.Failed, 0, load.BytesRead, load.Duration, load.Error, null, load));
                return false;
            }

            lock (gate)
            {
                results.Add(Result(job, plan, ImportStatus.Imported, load.Rows, load.BytesRead, load.Duration, null, null, load));
            }

            return true;
        }

        async Task Post(Schema.PostDataJob job, CancellationToken token)
        {
            var step = byId[job.Id].Step;
            var w = await workers.RentAsync(WorkerUse.PostData, token).ConfigureAwait(false);
            bool healthy = false;
            try
            {
                lock (buildProgress)
                {
                    buildBar ??= buildProgress.Begin($"Building generation {gen.Id} in {gen.StagingSchema}");
                    buildBar.Status($"{Volatile.Read(ref jobsDone)} of {jobsTodo} steps done", jobsTodo == 0 ? -1 : Volatile.Read(ref jobsDone) * 100 / jobsTodo, currentOperation: $"{step.Table}: {step.Kind} {step.Name}", force: true);
                }

                if (job.Kind == Schema.PostDataJobKind.Validate)
                {
                    var o = await ValidateAsync(w.Connection, gen, live, step, token).ConfigureAwait(false);
                    if (o is not null)
                    {
                        lock (gate)
                        {
                            orphans.Add(o);
                        }
                    }
                }
                else
                {
                    _reporter.Verbose($"{step.Table} (staging): {step.Sql}");
                    await ExecAsync(w.Connection, step.Sql, token).ConfigureAwait(false);
                }

                Interlocked.Increment(ref jobsDone);
                healthy = true;
            }
            catch (PostgresException e) when (!token.IsCancellationRequested)
            {
                // A duplicate key fails its unique index, a check its rows: the first failure ends the build.
                throw PgErrors.Translate(e,
                    $"-Online: the staging generation {gen.Id} ({gen.StagingSchema}) could not be built as the live tables are; nothing was swapped, the live tables are as they were: {step.Table}: {step.Kind} {step.Name}",
                    step.Table, withDetail: true);
            }
            finally
            {
                await workers.ReturnAsync(w, healthy).ConfigureAwait(false);
            }
        }

        var tables = System.Threading.Channels.Channel.CreateUnbounded<TableJob>();
        foreach (var job in work)
        {
            tables.Writer.TryWrite(job);
        }

        tables.Writer.Complete();
        var weights = todo.GroupBy(j => j.QualifiedTable, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Sum(j => j.Bytes), StringComparer.OrdinalIgnoreCase);
        var input = new ScheduleInput
        {
            Tables = tables.Reader,
            PendingTables = work.Select(j => j.QualifiedTable).ToList(),
            PostData = jobs.Select(j => j.Job).ToList(),
            PostDataDone = done,
            LoadParallelism = _options.ThrottleLimit,
            TableWeight = t => weights.GetValueOrDefault(t),
        };

        ScheduleOutcome outcome;
        try
        {
            outcome = await new ImportScheduler(_options.ThrottleLimit).RunAsync(input, Load, Post, ct).ConfigureAwait(false);
        }
        finally
        {
            bar.Complete();
            lock (buildProgress)
            {
                buildBar?.Complete();
            }
        }

        _reporter.Verbose($"-Online: generation {gen.Id}: {work.Count} table load(s) and {outcome.PostDataRun} build step(s) on at most {outcome.PeakConnections} of {_options.ThrottleLimit} connection(s) at once ({done.Count} step(s) already built).");
        if (outcome.FailedTables == 0 && !outcome.PostDataComplete)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData,
                $"-Online: the staging generation {gen.Id} ({gen.StagingSchema}) was not completely built ({string.Join(", ", outcome.PostDataNotRun.Select(j => j.Id))}); nothing was swapped, the live tables are as they were.", gen.StagingSchema);
        }

        return (outcome.FailedTables, orphans);
    }

    /// <summary>
    /// Validates a foreign key of the staging generation; orphans (against the staged parent when it is in the dump,
    /// else the live one) leave it NOT VALID (it checks new rows) and are returned.
    /// </summary>
    private async Task<ForeignKeyOrphans?> ValidateAsync(NpgsqlConnection c, GenerationRow gen, List<LiveTable> live, BuildStep step, CancellationToken ct)
    {
        try
        {
            await ExecAsync(c, step.ValidateSql!, ct).ConfigureAwait(false);
            return null;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            string name = step.Table[(step.Table.IndexOf('.') + 1)..];
            var o = await ImportVerifier.OrphansOfAsync(c, null, $"{gen.StagingSchema}.{name}", step.Name, false, ct).ConfigureAwait(false);
            string references = o.References.Replace(gen.StagingSchema + ".", live.First(t => t.Name == name).Schema + ".", StringComparison.Ordinal);
            o = new ForeignKeyOrphans { Table = step.Table, Constraint = o.Constraint, Columns = o.Columns, References = references, Count = o.Count, SampleKeys = o.SampleKeys };
            _reporter.Warning($"{step.Table}: {o.Count} row(s) whose {o.Columns} have no match in {references} (foreign key {step.Name}, e.g. {string.Join(", ", o.SampleKeys)}); the key stays NOT VALID (it checks new rows).");
            return o;
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
