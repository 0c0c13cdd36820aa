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

        if (mode == LoadMode.ExistingForeignKeyOrder)
        {
            var order = ForeignKeyOrder.Order(todo.Select(j => j.QualifiedTable).ToList(), await ForeignKeyOrder.ReadAsync(main, ct).ConfigureAwait(false));
            var byName = todo.ToDictionary(j => j.QualifiedTable, StringComparer.OrdinalIgnoreCase);
            todo = order.Select(t => byName[t]).ToList();
        }

        // Drift found before any table is emptied: every file's header against its table, all problems in one error.
        var problems = (await DriftPreflight.CheckAsync(main, todo, ct).ConfigureAwait(false)).Where(d => d.IsProblem(_options.ExcludeExtraColumns)).ToList();
        if (problems.Count > 0)
        {
            throw new BulkDataException(
                BulkErrorKind.InvalidData,
                $"The dump's files do not fit {problems.Count} table(s) of database {plan.Database}; nothing was loaded:{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", problems.Select(p => p.Describe(_options.ExcludeExtraColumns))),
                plan.Database);
        }

        int failed = await LoadTablesAsync(conn, plan, todo, mode, replica, Emit, ct).ConfigureAwait(false);
        failed += await LoadArrivingAsync(conn, main, journal, plan, mode, replica, Emit, plan.Jobs.Select(j => j.QualifiedTable).ToHashSet(StringComparer.OrdinalIgnoreCase), ct).ConfigureAwait(false);

        var orphans = new List<ForeignKeyOrphans>();
        if (fresh && plan.Schema is not null)
        {
            if (failed > 0 || plan.Unplanned.Count > 0)
            {
                _reporter.Warning($"{plan.SchemaPath}: post-data (indexes, constraints, triggers) not applied because {failed + plan.Unplanned.Count} table(s) failed; run the import again once they are fixed: loaded tables are skipped and post-data is applied then.");
            }
            else
            {
                // Statement by statement, each journalled; after a completed post-data only the foreign keys
                // left NOT VALID (orphans) are tried again.
                var jobs = PostDataJobs.Build(plan.Schema.PostData);
                if (postDone)
                {
                    jobs = jobs.Where(j => j.Kind == PostDataJobKind.Validate).ToList();
                }

                var post = await new PostDataSteps(runner, _reporter, _options.RemoveOrphans)
                    .RunAsync(main, journal, postDone ? Array.Empty<SqlStatement>() : plan.Schema.Settings, jobs, plan.SchemaPath!, ct).ConfigureAwait(false);
                orphans.AddRange(post.Orphans);
                schemaApplied |= !postDone || post.Orphans.Count > 0;
            }
        }

        var loaded = results.Where(r => r.Status == ImportStatus.Imported).Select(r => r.Table).ToList();
        if (mode == LoadMode.ExistingReplica && loaded.Count > 0)
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
            var all = plan.Jobs.Select(j => j.QualifiedTable).ToList();
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

    /// <summary>Loads the tables, as many at once as the mode allows, each on its own connection; returns how many failed.</summary>
    private async Task<int> LoadTablesAsync(PgConnectionInfo conn, ImportPlan plan, IReadOnlyList<TableJob> todo, LoadMode mode, bool replica, Action<ImportResult> emit, CancellationToken ct)
    {
        long total = todo.Sum(j => j.Bytes);
        long done = 0;
        int tablesDone = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var progress = new ProgressReporter(_reporter);
        var bar = progress.Begin($"Importing into {plan.Database}");
        var loader = new TableLoader(_options.DecoderThreads, _reporter, (table, delta) =>
        {
            long now = Interlocked.Add(ref done, delta);
            bar.Report(() => ImportProgress.Of(now, total, Volatile.Read(ref tablesDone), todo.Count, clock.Elapsed), table);
        })
        { ExcludeExtraColumns = _options.ExcludeExtraColumns };

        int failed = 0;
        await BoundedRunner.RunAsync(todo, LoadModePolicy.Parallelism(mode, _options.ThrottleLimit), async (job, slot) =>
        {
            if (ct.IsCancellationRequested)
            {
                return;
            }

            var load = await LoadOneAsync(conn, loader, job, replica, ct).ConfigureAwait(false);
            if (load.OtherDialect is { } other && !job.DialectReason.StartsWith(DialectSniffer.Stated, StringComparison.Ordinal) && other != load.Dialect)
            {
                // Chosen from the bytes or the date, and the bytes said otherwise: rolled back; load it again in
                // the dialect they point to (checked the same way).
                _reporter.Warning($"{job.QualifiedTable}: {load.Error} Loading it again as {other.Name}.");
                var retry = job with { Dialect = other, DialectReason = $"{DialectSniffer.Sniffed} (reloaded: {load.Dialect?.Name} misread the bytes)" };
                var second = await LoadOneAsync(conn, loader, retry, replica, ct).ConfigureAwait(false);
                load = second with { DialectReason = second.DialectReason ?? retry.DialectReason };
            }

            int finished = Interlocked.Increment(ref tablesDone);
            var state = ImportProgress.Of(Interlocked.Read(ref done), total, finished, todo.Count, clock.Elapsed);
            bar.Status(state.Status, state.Percent, state.SecondsRemaining, $"{job.QualifiedTable} {(load.Error is null ? "done" : "failed")}", force: true);
            if (load.Error is not null)
            {
                Interlocked.Increment(ref failed);
                _reporter.Warning($"{job.QualifiedTable} failed and was rolled back: {load.Error}");
            }

            emit(Result(job, plan, load.Error is null ? ImportStatus.Imported : ImportStatus.Failed, load.Rows, load.BytesRead, load.Duration, load.Error, load));
        }, ct).ConfigureAwait(false);
        bar.Complete();
        ct.ThrowIfCancellationRequested();
        return failed;
    }

    /// <summary>One table on a connection of its own; a connection that cannot be opened fails only this table.</summary>
    private static async Task<TableLoad> LoadOneAsync(PgConnectionInfo conn, TableLoader loader, TableJob job, bool replica, CancellationToken ct)
    {
        await using var c = conn.CreateConnection();
        try
        {
            await OpenAsync(c, conn, ct).ConfigureAwait(false);
        }
        catch (BulkDataException e) when (!ct.IsCancellationRequested)
        {
            return new TableLoad(0, 0, TimeSpan.Zero, $"file {job.FilePath}, table {job.QualifiedTable}: {e.Message}");
        }

        return await loader.LoadAsync(c, job, replica, null, ct).ConfigureAwait(false);
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
