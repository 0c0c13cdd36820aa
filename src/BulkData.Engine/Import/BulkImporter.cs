using BulkData.Engine.Import.Schedule;
using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// Imports a dump into PostgreSQL, as pg_restore does: the database, the pre-data schema, one transaction per table
/// (<see cref="TableLoader"/>), the post-data schema, verification. It only sequences the parts: the load mode comes
/// from <see cref="LoadModePolicy"/>, resume from the <see cref="ImportJournal"/>, schema steps from
/// <see cref="SchemaSteps"/>, the order of existing tables from <see cref="ForeignKeyOrder"/>.
/// </summary>
public sealed partial class BulkImporter
{
    /// <summary>The Table of the result that stands for the schema script (not a table).</summary>
    public const string SchemaResultTable = "(schema)";

    private readonly ImportOptions _options;
    private readonly IBulkReporter _reporter;

    /// <summary>Gets the generation an -Online run swapped in.</summary>
    public Action<BulkGeneration>? OnGeneration { get; init; }

    public BulkImporter(ImportOptions options, IBulkReporter? reporter = null)
    {
        _options = options;
        _reporter = reporter ?? NullReporter.Instance;
        if (options.ThrottleLimit < 1)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "ThrottleLimit must be at least 1.");
        }
    }

    /// <summary>
    /// Runs the plan. <paramref name="onTable"/> gets each table's result as soon as it ends (with the error for a
    /// failed table), and the schema script's result last; <paramref name="onFinding"/> gets the -Verify findings.
    /// </summary>
    public async Task<IReadOnlyList<ImportResult>> RunAsync(ImportPlan plan, OutcomeCallback<ImportResult> onTable, Action<ImportVerification> onFinding, CancellationToken ct)
    {
        var results = new List<ImportResult>();
        var report = BoundedRunner.Serialized<ImportResult>((r, error) =>
        {
            results.Add(r);
            onTable(r, error);
        });
        void Emit(ImportResult r) => report(r, r.Status == ImportStatus.Failed ? new BulkDataException(BulkErrorKind.InvalidData, r.Error ?? $"{r.Table} failed.", r.Table) : null);

        foreach (var u in plan.Unplanned)
        {
            _reporter.Warning(u.Error!);
            Emit(u);
        }

        // One import per target database at a time (taken before the database is created: two runs never race to create it).
        await using var databaseLock = await DatabaseLock.AcquireAsync(_options.Connection, plan.Database, _options.NoWait, _reporter, ct).ConfigureAwait(false);
        var conn = _options.Connection.WithDatabase(plan.Database).WithoutPooling();
        var created = await DatabaseCreator.EnsureDatabaseAsync(_options.Connection.AdminConnectionString, plan.Database, plan.Schema?.CreateDatabaseStatement, plan.SchemaPath, _reporter, ct).ConfigureAwait(false);
        bool schemaApplied = created.Created;

        await using var main = conn.CreateConnection();
        await OpenAsync(main, conn, ct).ConfigureAwait(false);
        var journal = await ImportJournal.OpenAsync(main, ct).ConfigureAwait(false);
        var runner = new StatementRunner();
        // One warning per kind of skipped schema statement, when the run ends (each statement is on -Verbose).
        using var skippedSummary = runner.WarnOnDispose(plan.SchemaPath ?? "schema", _reporter);
        var steps = new SchemaSteps(runner, _reporter);

        bool preDone = plan.SchemaPath is not null && await journal.StepDoneAsync(SchemaSteps.PreData, plan.SchemaPath, ct).ConfigureAwait(false);
        bool postDone = plan.SchemaPath is not null && await journal.StepDoneAsync(SchemaSteps.PostData, plan.SchemaPath, ct).ConfigureAwait(false);
        int existing = plan.Schema is null || preDone || postDone ? 0 : await ExistingTablesAsync(main, plan.Schema.Tables, ct).ConfigureAwait(false);
        bool fresh = LoadModePolicy.IsFresh(plan.Schema is not null, preDone, postDone, existing);
        // -Online refreshes tables that exist (also when this schema's steps are journalled as done); a fresh
        // database, or one whose first import stopped before post-data, is imported the usual way.
        bool online = _options.Online && (!fresh || postDone)
            && await ExistingTablesAsync(main, plan.Jobs.Select(j => j.QualifiedTable).ToList(), ct).ConfigureAwait(false) > 0;
        if (_options.Online && !online)
        {
            _reporter.Warning($"-Online: the tables of this dump do not exist in {plan.Database} yet, or its first import has not finished (nobody reads them): imported the usual way.");
        }

        // Skip tables the journal says were loaded from the same file.
        var todo = new List<TableJob>();
        foreach (var job in plan.Jobs)
        {
            var entry = await journal.EntryAsync(job.QualifiedTable, ct).ConfigureAwait(false);
            if (!_options.Force && entry is not null && entry.IsSameFile(job))
            {
                _reporter.Verbose($"{job.QualifiedTable}: already loaded from {job.FileName} ({entry.Rows} rows, {entry.Identity}); skipped. Use -Force to reload.");
                Emit(Result(job, plan, ImportStatus.Skipped, entry.Rows, 0, TimeSpan.Zero, null));
                continue;
            }

            todo.Add(job);
        }

        // Their headers are read (decoded) while the pre-data runs; they are checked against the tables after it.
        await using var headers = DriftPreflight.StartReading(todo, _reporter, ct);

        fresh &= !online;
        if (fresh && (preDone || postDone))
        {
            _reporter.Verbose($"{plan.SchemaPath}: pre-data already applied by an earlier run (journal); resuming.");
        }
        else if (fresh)
        {
            if (plan.Schema!.DatabaseStatements.Count > 0 && created.Created)
            {
                await runner.ApplyAsync(main, plan.Schema.DatabaseStatementsFor(plan.Database), plan.SchemaPath!, _reporter, ct).ConfigureAwait(false);
            }

            await steps.RunAsync(main, SchemaSteps.PreData, plan.Schema.PreData, plan.SchemaPath!, ct).ConfigureAwait(false);
            schemaApplied = true;
        }
        else if (plan.Schema is not null)
        {
            _reporter.Verbose($"The tables of {plan.SchemaPath} already exist in {plan.Database}: loading into them as they are; the schema script is not applied.");
        }

        bool replica = await CanSetReplicaAsync(main, ct).ConfigureAwait(false);
        var mode = LoadModePolicy.Choose(fresh, postDone, replica);
        if (mode != LoadMode.Fresh)
        {
            _reporter.Verbose(mode == LoadMode.ExistingReplica
                ? "Loading into existing tables with session_replication_role = replica (triggers and foreign-key checks off while loading)."
                : "Cannot set session_replication_role here: loading existing tables one at a time in foreign-key order.");
        }

        if (mode == LoadMode.ExistingForeignKeyOrder)
        {
            var order = ForeignKeyOrder.Order(todo.Select(j => j.QualifiedTable).ToList(), await ForeignKeyOrder.ReadAsync(main, ct).ConfigureAwait(false));
            var byName = todo.ToDictionary(j => j.QualifiedTable, StringComparer.OrdinalIgnoreCase);
            todo = order.Select(t => byName[t]).ToList();
        }

        // Drift found before any table is emptied: every file's header against its table, all problems in one error.
        var problems = (await DriftPreflight.CheckAsync(main, todo, headers, ct).ConfigureAwait(false)).Where(d => d.IsProblem(_options.ExcludeExtraColumns)).ToList();
        if (problems.Count > 0)
        {
            throw new BulkDataException(
                BulkErrorKind.InvalidData,
                $"The dump's files do not fit {problems.Count} table(s) of database {plan.Database}; nothing was loaded:{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", problems.Select(p => p.Describe(_options.ExcludeExtraColumns))),
                plan.Database);
        }

        // Post-data: each statement a job of the same schedule as the loads (Import/Schedule): a table's indexes and
        // keys start once its data is committed; after a completed post-data only the foreign keys left NOT VALID
        // (orphans) are tried again.
        var orphans = new List<ForeignKeyOrphans>();
        IReadOnlyList<PostDataJob> postJobs = Array.Empty<PostDataJob>();
        if (fresh && plan.Schema is not null && plan.Unplanned.Count == 0)
        {
            postJobs = PostDataJobs.Build(plan.Schema.PostData);
            if (postDone)
            {
                postJobs = postJobs.Where(j => j.Kind == PostDataJobKind.Validate).ToList();
            }
        }
        else if (fresh && plan.Schema is not null)
        {
            _reporter.Warning($"{plan.SchemaPath}: post-data (indexes, constraints, triggers) not applied because {plan.Unplanned.Count} table(s) failed; run the import again once they are fixed: loaded tables are skipped and post-data is applied then.");
        }

        var postSteps = plan.Schema is not null && plan.SchemaPath is not null ? new PostDataSteps(runner, _reporter, _options.RemoveOrphans, plan.SchemaPath) : null;
        var postDoneIds = postSteps is not null && postJobs.Count > 0 ? await PostDataSteps.DoneAsync(journal, postJobs, plan.SchemaPath!, ct).ConfigureAwait(false) : new HashSet<string>();
        // -Online chooses its own (its staging loads and builds run on its connections). Chosen even with nothing to
        // load yet: files may arrive while the import runs (Start-BulkFetch | Invoke-BulkImport).
        var sessionSettings = !online
            ? await MaintenanceSettings.ResolveAsync(main, MaintenanceSettings.IsLocalHost(conn.Host), _options.ThrottleLimit, _options.SessionSettings, _reporter, ct).ConfigureAwait(false)
            : SessionSettings.None;
        var scriptSettings = postDone || plan.Schema is null ? Array.Empty<SqlStatement>() : plan.Schema.Settings;
        await using var workers = new WorkerConnections(
            conn,
            (c, t) => MaintenanceSettings.ApplyAsync(c, sessionSettings.Load, t),
            async (c, t) =>
            {
                await runner.ApplyAsync(c, scriptSettings, plan.SchemaPath ?? "schema", _reporter, t).ConfigureAwait(false);
                await MaintenanceSettings.ApplyAsync(c, sessionSettings.PostData, t).ConfigureAwait(false);
            });

        int failed;
        ScheduleOutcome? schedule = null;
        if (online)
        {
            // -Online: the tables load into a staging generation (its indexes and keys built there) and are swapped
            // in at once; a fresh load's post-data is not part of it (online implies tables that exist).
            var (generation, onlineFailed) = await new OnlineImporter(_options, _reporter).RunAsync(conn, main, plan, todo, Emit, ct).ConfigureAwait(false);
            failed = onlineFailed;
            if (generation is not null)
            {
                OnGeneration?.Invoke(generation);
            }
        }
        else
        {
            schedule = await LoadTablesAsync(workers, main, journal, plan, todo, mode, replica, fresh, postJobs, postDoneIds, postSteps, Emit, ct).ConfigureAwait(false);
            failed = schedule.FailedTables;
        }

        if (schedule is not null && postJobs.Count > 0 && postSteps is not null)
        {
            if (failed > 0)
            {
                _reporter.Warning($"{plan.SchemaPath}: post-data (indexes, constraints, triggers) not applied because {failed} table(s) failed ({schedule.PostDataRun} of its statements done before the failure are kept); run the import again once they are fixed: loaded tables are skipped and post-data is applied then.");
            }

            var post = await postSteps.FinishAsync(main, postDoneIds.Count, schedule.PostDataComplete && failed == 0, ct).ConfigureAwait(false);
            orphans.AddRange(post.Orphans);
            schemaApplied |= !postDone || post.Orphans.Count > 0;
        }
        else if (fresh && plan.Schema is not null && plan.Unplanned.Count == 0 && failed == 0 && !postDone && postSteps is not null)
        {
            // A post-data with no statements: the step is still recorded.
            await postSteps.FinishAsync(main, 0, true, ct).ConfigureAwait(false);
            schemaApplied = true;
        }

        var loaded = results.Where(r => r.Status == ImportStatus.Imported).Select(r => r.Table).ToList();
        if (mode == LoadMode.ExistingReplica && loaded.Count > 0 && !online)
        {
            foreach (var v in await ImportVerifier.OrphansAsync(main, loaded, ct).ConfigureAwait(false))
            {
                if (v.Count > 0)
                {
                    _reporter.Warning($"{v.Table}: {v.Count} row(s) whose {v.Columns} have no match in {v.References} (foreign key {v.Constraint}); loaded with foreign-key checks off.");
                }
            }
        }

        if (_options.Verify)
        {
            // Every table of the run: those planned at the start and those whose files arrived while it ran.
            var all = ImportVerifier.TablesOfRun(plan.Jobs, results, SchemaResultTable);
            foreach (var v in await ImportVerifier.OrphansAsync(main, all, ct).ConfigureAwait(false))
            {
                onFinding(v);
            }

            foreach (var v in await ImportVerifier.DuplicatesAsync(main, all, ct).ConfigureAwait(false))
            {
                onFinding(v);
            }
        }

        if (plan.Schema is not null && schemaApplied)
        {
            // The schema script has a result of its own: every skipped statement is listed there (each was on
            // -Verbose with its line and reason; the warnings count them per kind).
            var skipped = created.Skipped.Concat(runner.Warnings).Select(w => $"line {w.Line}: {w.Reason}").ToList();
            _reporter.Verbose($"{plan.SchemaPath}: {skipped.Count} schema statement(s) skipped with a warning.");
            Emit(new ImportResult
            {
                Table = SchemaResultTable, Dataset = "schema", File = plan.SchemaPath!, Rows = 0,
                Bytes = plan.SchemaBytes, Status = ImportStatus.Imported, Warnings = skipped,
                Database = plan.Database, Orphans = orphans,
            });
        }

        return results;
    }

    /// <summary>
    /// Loads the tables and runs the post-data jobs on one schedule (<see cref="ImportScheduler"/>): at most
    /// -ThrottleLimit worker connections at once, loads and jobs together; returns what it did.
    /// </summary>
    private async Task<ScheduleOutcome> LoadTablesAsync(WorkerConnections workers, NpgsqlConnection main, ImportJournal journal, ImportPlan plan, IReadOnlyList<TableJob> todo, LoadMode mode, bool replica, bool fresh,
        IReadOnlyList<PostDataJob> postJobs, IReadOnlySet<string> postDone, PostDataSteps? postSteps, Action<ImportResult> emit, CancellationToken ct)
    {
        long total = todo.Sum(j => j.Bytes);
        long done = 0;
        int tablesDone = 0, jobsDone = 0;
        int jobsTodo = postJobs.Count - postDone.Count;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var progress = new ProgressReporter(_reporter);
        var bar = progress.Begin($"Importing into {plan.Database}");
        using var postProgress = new ProgressReporter(_reporter);
        ProgressReporter.Bar? postBar = null;
        // The overall bar (read, received, decoded and loaded of every table) and a child bar per table being loaded.
        var flows = new ImportProgressBars(progress, bar);
        var loader = new TableLoader(_options.DecoderThreads, _reporter, (table, delta) =>
        {
            long now = Interlocked.Add(ref done, delta);
            bar.Report(() => ImportProgress.Of(new ImportFlow(now, total, flows.Received, flows.Decoded), Volatile.Read(ref tablesDone), todo.Count, clock.Elapsed), table);
        })
        { ExcludeExtraColumns = _options.ExcludeExtraColumns, Flow = flows.Flow };

        // The jobs planned up front, then (fed by Start-BulkFetch) the jobs whose files arrive while the import runs:
        // one channel, the schedule's one seam. Without arrivals it is complete at once.
        var tables = System.Threading.Channels.Channel.CreateUnbounded<TableJob>();
        foreach (var job in todo)
        {
            tables.Writer.TryWrite(job);
        }

        var arrived = new HashSet<TableJob>(ReferenceEqualityComparer.Instance);
        Task pump = Task.CompletedTask;
        if (plan.Arriving is null)
        {
            tables.Writer.Complete();
        }
        else
        {
            pump = ForwardArrivalsAsync(plan, todo, tables.Writer, arrived, delta => Interlocked.Add(ref total, delta), ct);
        }

        // Arriving jobs are checked when their turn comes, one at a time on the journal's connection.
        using var mainGate = new SemaphoreSlim(1);
        var weights = todo.GroupBy(j => j.QualifiedTable, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Sum(j => j.Bytes), StringComparer.OrdinalIgnoreCase);
        var input = new ScheduleInput
        {
            Tables = tables.Reader,
            // Tables whose files may still arrive hold back their post-data too; one that never arrives is released when
            // the channel completes (its table stays as pre-data made it, as without overlap).
            PendingTables = todo.Select(j => j.QualifiedTable).Concat(plan.ExpectedArrivals).ToList(),
            PostData = postJobs,
            PostDataDone = postDone,
            LoadParallelism = LoadModePolicy.Parallelism(mode, _options.ThrottleLimit),
            StreamsFor = j => fresh && mode == LoadMode.Fresh ? CopyStreams.For(j, todo, _options.ThrottleLimit, _options.CopyStreams) : 1,
            TableWeight = t => weights.GetValueOrDefault(t),
        };

        async Task<bool> Load(TableJob job, int streams, CancellationToken token)
        {
            bool isArrival;
            lock (arrived)
            {
                isArrival = arrived.Contains(job);
            }

            if (isArrival)
            {
                await mainGate.WaitAsync(token).ConfigureAwait(false);
                ImportResult? early;
                try
                {
                    early = await CheckArrivalAsync(main, journal, plan, job, token).ConfigureAwait(false);
                }
                finally
                {
                    mainGate.Release();
                }

                if (early is not null)
                {
                    Interlocked.Increment(ref tablesDone);
                    emit(early);
                    return early.Status != ImportStatus.Failed;
                }

                _reporter.Verbose($"{job.QualifiedTable}: {job.FileName} arrived; loading it while later files still come.");
            }

            var load = await LoadOneAsync(workers, loader, job, replica, streams, token).ConfigureAwait(false);
            flows.End(job, load.ReceivedBytes, load.DecodedBytes);
            if (TableLoader.ReloadInOtherDialect(job, load) is { } retry)
            {
                // Chosen from the bytes or the date, and the bytes said otherwise: rolled back; load it again in
                // the dialect they point to (checked the same way).
                _reporter.Warning($"{job.QualifiedTable}: {load.Error} Loading it again as {retry.Dialect.Name}.");
                var second = await LoadOneAsync(workers, loader, retry, replica, 1, token).ConfigureAwait(false);
                flows.End(retry, second.ReceivedBytes, second.DecodedBytes);
                load = second with { DialectReason = second.DialectReason ?? retry.DialectReason };
            }

            int finished = Interlocked.Increment(ref tablesDone);
            var state = ImportProgress.Of(new ImportFlow(Interlocked.Read(ref done), total, flows.Received, flows.Decoded), finished, todo.Count, clock.Elapsed);
            bar.Status(state.Status, state.Percent, state.SecondsRemaining, $"{job.QualifiedTable} {(load.Error is null ? "done" : "failed")}", force: true);
            if (load.Error is not null)
            {
                _reporter.Warning($"{job.QualifiedTable} failed and was rolled back: {load.Error}");
            }

            emit(Result(job, plan, load.Error is null ? ImportStatus.Imported : ImportStatus.Failed, load.Rows, load.BytesRead, load.Duration, load.Error, load));
            return load.Error is null;
        }

        async Task Post(PostDataJob job, CancellationToken token)
        {
            var w = await workers.RentAsync(WorkerUse.PostData, token).ConfigureAwait(false);
            bool healthy = false;
            try
            {
                lock (postProgress)
                {
                    postBar ??= postProgress.Begin($"Post-data of {Path.GetFileName(plan.SchemaPath)}");
                    postBar.Status($"{Volatile.Read(ref jobsDone)} of {jobsTodo} statements done", jobsTodo == 0 ? -1 : Volatile.Read(ref jobsDone) * 100 / jobsTodo, currentOperation: job.Statement.Summary(80), force: true);
                }

                await postSteps!.RunOneAsync(w.Connection, job, token).ConfigureAwait(false);
                Interlocked.Increment(ref jobsDone);
                healthy = true;
            }
            finally
            {
                await workers.ReturnAsync(w, healthy).ConfigureAwait(false);
            }
        }

        ScheduleOutcome outcome;
        try
        {
            outcome = await new ImportScheduler(_options.ThrottleLimit).RunAsync(input, Load, Post, ct).ConfigureAwait(false);
        }
        finally
        {
            await pump.ConfigureAwait(false);
            bar.Complete();
            lock (postProgress)
            {
                postBar?.Complete();
            }
        }

        _reporter.Verbose($"Schedule: {todo.Count} table(s) and {outcome.PostDataRun} post-data statement(s) on at most {outcome.PeakConnections} of {_options.ThrottleLimit} connection(s) at once.");
        return outcome;
    }

    /// <summary>One table on a worker connection of its own; a connection that cannot be opened fails only this table.</summary>
    private static async Task<TableLoad> LoadOneAsync(WorkerConnections workers, TableLoader loader, TableJob job, bool replica, int streams, CancellationToken ct)
    {
        if (streams > 1)
        {
            var extra = new List<WorkerConnections.Worker>();
            try
            {
                for (int i = 1; i < streams; i++)
                {
                    extra.Add(await workers.RentAsync(WorkerUse.Load, ct).ConfigureAwait(false));
                }
            }
            catch (BulkDataException) when (!ct.IsCancellationRequested)
            {
                // Fewer connections than asked for: the streams that could be opened.
            }

            if (extra.Count > 0)
            {
                bool ok = false, firstOk = false;
                var first = await workers.RentAsync(WorkerUse.Load, ct).ConfigureAwait(false);
                TableLoad? load = null;
                try
                {
                    load = await loader.LoadStreamsAsync(first.Connection, extra.Select(x => x.Connection).ToList(), job, ct).ConfigureAwait(false);
                    ok = firstOk = load is not null && load.Error is null;
                    if (load is null)
                    {
                        // Fallen back: the table is empty again; one stream loads it (and names any error's line).
                        load = await loader.LoadAsync(first.Connection, job, replica, null, ct).ConfigureAwait(false);
                        ok = load.Error is null;
                        firstOk = await ReusableAfterLoadAsync(first.Connection, load, replica).ConfigureAwait(false);
                    }

                    return load;
                }
                finally
                {
                    await workers.ReturnAsync(first, firstOk).ConfigureAwait(false);
                    foreach (var x in extra)
                    {
                        await workers.ReturnAsync(x, ok).ConfigureAwait(false);
                    }
                }
            }
        }

        WorkerConnections.Worker w;
        try
        {
            w = await workers.RentAsync(WorkerUse.Load, ct).ConfigureAwait(false);
        }
        catch (BulkDataException e) when (!ct.IsCancellationRequested)
        {
            return new TableLoad(0, 0, TimeSpan.Zero, $"file {job.FilePath}, table {job.QualifiedTable}: {e.Message}");
        }

        bool healthy = false;
        try
        {
            var load = await loader.LoadAsync(w.Connection, job, replica, null, ct).ConfigureAwait(false);
            healthy = await ReusableAfterLoadAsync(w.Connection, load, replica).ConfigureAwait(false);
            return load;
        }
        finally
        {
            await workers.ReturnAsync(w, healthy).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether a load's connection can serve the next piece of work. A failed load may leave it mid-COPY or broken: it
    /// is closed. A load with session_replication_role = replica leaves the role set on the session: it is reset, so
    /// the connection is reused as it came (closing it instead would open a new connection per table, and its backend,
    /// which exits only after the client has gone, would still count on the server while the next one starts). The
    /// load's outcome never depends on this: it has committed or rolled back already.
    /// </summary>
    private static async Task<bool> ReusableAfterLoadAsync(NpgsqlConnection c, TableLoad load, bool replica)
    {
        if (load.Error is not null)
        {
            return false;
        }

        if (!replica)
        {
            return true;
        }

        try
        {
            await using var reset = new NpgsqlCommand("RESET session_replication_role", c);
            await reset.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException)
        {
            return false;
        }
    }

    private static ImportResult Result(TableJob job, ImportPlan plan, ImportStatus status, long rows, long bytes, TimeSpan duration, string? error, TableLoad? load = null)
        => new()
        {
            Table = job.QualifiedTable, Dataset = job.Dataset, File = job.FilePath, Rows = rows, Bytes = bytes, Duration = duration,
            Status = status, Error = error, Database = plan.Database, Dialect = load?.Dialect?.Name ?? job.Dialect.Name, DialectReason = load?.DialectReason ?? job.DialectReason,
            ExcludedColumns = load?.ExcludedColumns ?? Array.Empty<string>(), DroppedValues = load?.DroppedValues ?? 0,
            ReceivedBytes = load?.ReceivedBytes, DecodedBytes = load?.DecodedBytes ?? 0,
            Warnings = load is null || load.ExcludedColumns.Count == 0
                ? Array.Empty<string>()
                : new[] { $"column(s) {string.Join(", ", load.ExcludedColumns)} of {job.FileName} not in the table: {load.DroppedValues} value(s) dropped (-ExcludeExtraColumns)" },
        };

    /// <summary>Opens <paramref name="c"/>; a failure is the one translated database error (authentication, unreachable, SQLSTATE).</summary>
    internal static async Task OpenAsync(NpgsqlConnection c, PgConnectionInfo info, CancellationToken ct)
    {
        try
        {
            await c.OpenAsync(ct).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (!ct.IsCancellationRequested)
        {
            throw PgErrors.Translate(e, $"Cannot connect to PostgreSQL as {info.Describe()}", info.Database);
        }
    }

    private static async Task<int> ExistingTablesAsync(NpgsqlConnection c, IReadOnlyList<string> tables, CancellationToken ct)
    {
        if (tables.Count == 0)
        {
            return 0;
        }

        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM unnest($1::text[]) t(name) WHERE to_regclass(t.name) IS NOT NULL", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.ToArray() });
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false));
    }

    private static async Task<bool> CanSetReplicaAsync(NpgsqlConnection c, CancellationToken ct)
    {
        try
        {
            await using var set = new NpgsqlCommand("SET session_replication_role = replica; RESET session_replication_role", c);
            await set.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return false;
        }
    }
}
