using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>What the post-data run did: statements applied, skipped (with warnings), and the foreign keys with orphans.</summary>
internal sealed record PostDataOutcome(int Applied, int Resumed, IReadOnlyList<SchemaWarning> Skipped, IReadOnlyList<ForeignKeyOrphans> Orphans, bool Complete);

/// <summary>
/// Runs one post-data job (<see cref="PostDataJobs"/>) at a time on the connection it is given: each statement in
/// its own transaction with its own journal row (<c>post-data line N</c>), so a re-run skips what is done and
/// resumes after it. A foreign key is added <c>NOT VALID</c> and validated as a job of its own: a validation that
/// fails for orphans leaves the key NOT VALID, reports its orphans (count, sample keys, one warning) and the other
/// jobs go on; with -RemoveOrphans the orphans are deleted and the key validated, in one transaction. The
/// scheduler (<see cref="Schedule.ImportScheduler"/>) decides which jobs run when and on which connection; this
/// class keeps the counts for the run's <see cref="PostDataOutcome"/> (safe to call from several connections at once).
/// </summary>
internal sealed class PostDataSteps
{
    private readonly StatementRunner _runner;
    private readonly IBulkReporter _reporter;
    private readonly bool _removeOrphans;
    private readonly string _sourcePath;
    private readonly object _gate = new();
    private readonly List<SchemaWarning> _skipped = new();
    private readonly List<ForeignKeyOrphans> _orphans = new();
    private readonly HashSet<string> _skippedJobs = new(StringComparer.Ordinal);
    private int _applied;

    public PostDataSteps(StatementRunner runner, IBulkReporter reporter, bool removeOrphans, string sourcePath)
    {
        _runner = runner;
        _reporter = reporter;
        _removeOrphans = removeOrphans;
        _sourcePath = sourcePath;
    }

    public static string StepOf(PostDataJob job) => $"{SchemaSteps.PostData} {job.Id}";

    /// <summary>The ids of the jobs the journal records as done for <paramref name="sourcePath"/>.</summary>
    public static async Task<HashSet<string>> DoneAsync(ImportJournal journal, IReadOnlyList<PostDataJob> jobs, string sourcePath, CancellationToken ct)
    {
        var steps = await journal.StepsDoneAsync(sourcePath, ct).ConfigureAwait(false);
        return jobs.Where(j => steps.Contains(StepOf(j))).Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Runs <paramref name="job"/> on <paramref name="c"/> (open, with the run's session settings) and journals it; a statement that is not tolerated throws.</summary>
    public async Task RunOneAsync(NpgsqlConnection c, PostDataJob job, CancellationToken ct)
    {
        if (job.Kind == PostDataJobKind.Validate)
        {
            bool skippedKey;
            lock (_gate)
            {
                skippedKey = job.DependsOn.Any(_skippedJobs.Contains);
            }

            if (skippedKey)
            {
                // Its foreign key was skipped (a table not in the dump): nothing to validate.
                await RecordAsync(c, StepOf(job), _sourcePath, ct).ConfigureAwait(false);
                return;
            }

            var found = await ValidateAsync(c, job, _sourcePath, ct).ConfigureAwait(false);
            if (found is not null)
            {
                lock (_gate)
                {
                    _orphans.Add(found);
                }
            }

            return;
        }

        SchemaWarning? warning = null;
        if (await InOneRoundTripAsync(c, job, ct).ConfigureAwait(false) is { } failure)
        {
            // Rolled back with its journal row; skipped (and journaled) when tolerated, else the error names the line.
            warning = await _runner.ToleratedFailureAsync(c, job.Statement, new StatementShape(job.Statement.Text), _sourcePath, _reporter, failure, ct).ConfigureAwait(false);
            await RecordAsync(c, StepOf(job), _sourcePath, ct).ConfigureAwait(false);
        }

        lock (_gate)
        {
            if (warning is null)
            {
                _applied++;
            }
            else
            {
                _skippedJobs.Add(job.Id);
                if (!warning.Repeated)
                {
                    _skipped.Add(warning);
                }
            }
        }
    }

    /// <summary>The run's outcome; records the whole step (<c>post-data</c>) when <paramref name="complete"/>.</summary>
    public async Task<PostDataOutcome> FinishAsync(NpgsqlConnection c, int resumed, bool complete, CancellationToken ct)
    {
        if (complete)
        {
            await RecordAsync(c, SchemaSteps.PostData, _sourcePath, ct).ConfigureAwait(false);
        }

        lock (_gate)
        {
            _reporter.Verbose($"{_sourcePath}: post-data {(complete ? "applied" : "partly applied")} ({_applied} statement(s), {resumed} done by an earlier run, {_skipped.Count} skipped, {_orphans.Count(o => !o.Validated)} foreign key(s) NOT VALID).");
            return new PostDataOutcome(_applied, resumed, _skipped.ToList(), _orphans.ToList(), complete);
        }
    }

    /// <summary>Validates one foreign key added NOT VALID; null when it holds, else its orphans.</summary>
    private async Task<ForeignKeyOrphans?> ValidateAsync(NpgsqlConnection c, PostDataJob job, string sourcePath, CancellationToken ct)
    {
        string table = job.Table!, constraint = job.Constraint!;
        // VALIDATE of a key that is valid already does nothing; of one that is not there it fails: then the checked way below.
        var failure = await InOneRoundTripAsync(c, job, ct).ConfigureAwait(false);
        if (failure is null)
        {
            return null;
        }

        if (failure.SqlState != PostgresErrorCodes.ForeignKeyViolation)
        {
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            if (!await NotValidAsync(c, tx, table, constraint, ct).ConfigureAwait(false))
            {
                // Already valid (validated by hand, or by an older run) or not there: nothing to do.
                await ImportJournal.RecordStepAsync(tx, StepOf(job), sourcePath, ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return null;
            }

            try
            {
                await StatementRunner.ExecuteAsync(c, job.Statement.Text, null, ct).ConfigureAwait(false);
                await ImportJournal.RecordStepAsync(tx, StepOf(job), sourcePath, ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return null;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
            {
                await tx.RollbackAsync(ct).ConfigureAwait(false);
            }
        }

        if (_removeOrphans)
        {
            string? blocked = null;
            await using (var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    // Deferred keys of other tables check the delete at once (and leave no pending trigger events
                    // that would block the VALIDATE): a row still referred to fails here, naming its referrer.
                    await StatementRunner.ExecuteAsync(c, "SET CONSTRAINTS ALL IMMEDIATE", null, ct).ConfigureAwait(false);
                    var removed = await ImportVerifier.OrphansOfAsync(c, tx, table, constraint, remove: true, ct).ConfigureAwait(false);
                    await StatementRunner.ExecuteAsync(c, job.Statement.Text, null, ct).ConfigureAwait(false);
                    await ImportJournal.RecordStepAsync(tx, StepOf(job), sourcePath, ct).ConfigureAwait(false);
                    await tx.CommitAsync(ct).ConfigureAwait(false);
                    var result = new ForeignKeyOrphans
                    {
                        Table = removed.Table, Constraint = removed.Constraint, Columns = removed.Columns, References = removed.References,
                        Count = removed.Count, SampleKeys = removed.SampleKeys, Removed = removed.Removed, Validated = true,
                    };
                    _reporter.Warning($"{table}: removed {result.Removed} orphan row(s) whose {result.Columns} have no match in {result.References} (foreign key {constraint}; keys {Samples(result)}); the foreign key is validated.");
                    return result;
                }
                catch (PostgresException e)
                {
                    // Rows of other tables still refer to the orphans.
                    try
                    {
                        await tx.RollbackAsync(ct).ConfigureAwait(false);
                    }
                    catch (InvalidOperationException)
                    {
                        // The failed commit already ended the transaction.
                    }

                    blocked = $"{e.MessageText} (SQLSTATE {e.SqlState}){(string.IsNullOrEmpty(e.Detail) ? "" : " " + e.Detail)}";
                }
            }

            var kept = await ImportVerifier.OrphansOfAsync(c, null, table, constraint, remove: false, ct).ConfigureAwait(false);
            _reporter.Warning($"{table}: {kept.Count} orphan row(s) whose {kept.Columns} have no match in {kept.References} (foreign key {constraint}; keys {Samples(kept)}) could not be removed: {blocked}; the foreign key stays NOT VALID, nothing was deleted.");
            return kept;
        }

        var found = await ImportVerifier.OrphansOfAsync(c, null, table, constraint, remove: false, ct).ConfigureAwait(false);
        _reporter.Warning($"{table}: {found.Count} orphan row(s) whose {found.Columns} have no match in {found.References} (foreign key {constraint}; keys {Samples(found)}); the foreign key is created NOT VALID (it checks new rows). Run again with -RemoveOrphans to delete them and validate it.");
        return found;
    }

    /// <summary>
    /// The job's statement and its journal row in one batch, one round trip: one implicit transaction, so the row
    /// commits with the statement's work or neither does. Null when it committed; the statement's own error when it
    /// failed (nothing of it kept); any other failure throws.
    /// </summary>
    private async Task<PostgresException?> InOneRoundTripAsync(NpgsqlConnection c, PostDataJob job, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(c) { Timeout = 0 };
        var statement = StatementRunner.BatchCommand(job.Statement);
        batch.BatchCommands.Add(statement);
        batch.BatchCommands.Add(ImportJournal.StepCommand(StepOf(job), _sourcePath));
        try
        {
            await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return null;
        }
        catch (PostgresException e) when (ReferenceEquals(e.BatchCommand, statement))
        {
            return e;
        }
        catch (NpgsqlException e) when (e is not PostgresException && e.InnerException is not OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw PgErrors.Translate(e, $"{_sourcePath} line {job.Statement.Line}: the server connection failed while running '{job.Statement.Summary(100)}'", _sourcePath);
        }
    }

    private static string Samples(ForeignKeyOrphans o)
        => string.Join(", ", o.SampleKeys) + (o.Count > o.SampleKeys.Count ? ", ..." : "");

    private static async Task<bool> NotValidAsync(NpgsqlConnection c, NpgsqlTransaction tx, string table, string constraint, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT NOT convalidated FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2", c, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = QualifiedNameOf(table) });
        cmd.Parameters.Add(new NpgsqlParameter { Value = constraint });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is true;
    }

    private static string QualifiedNameOf(string table)
    {
        int dot = table.IndexOf('.');
        return dot > 0 ? new QualifiedName(table[..dot], table[(dot + 1)..]).Sql : new QualifiedName("public", table).Sql;
    }

    private static async Task RecordAsync(NpgsqlConnection c, string step, string sourcePath, CancellationToken ct)
    {
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        await ImportJournal.RecordStepAsync(tx, step, sourcePath, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }
}
