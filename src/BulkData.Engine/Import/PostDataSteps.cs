using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>What the post-data run did: statements applied, skipped (with warnings), and the foreign keys with orphans.</summary>
internal sealed record PostDataOutcome(int Applied, int Resumed, IReadOnlyList<SchemaWarning> Skipped, IReadOnlyList<ForeignKeyOrphans> Orphans, bool Complete);

/// <summary>
/// Runs the post-data jobs (<see cref="PostDataJobs"/>) one at a time, each statement in its own transaction with
/// its own journal row (<c>post-data line N</c>), so a re-run skips what is done and resumes after it. A foreign
/// key is added <c>NOT VALID</c> and validated as a job of its own: a validation that fails for orphans leaves
/// the key NOT VALID, reports its orphans (count, sample keys, one warning) and the other jobs go on; with
/// -RemoveOrphans the orphans are deleted and the key validated, in one transaction. When every statement has
/// run, the whole step (<c>post-data</c>) is recorded too.
/// </summary>
internal sealed class PostDataSteps
{
    private readonly StatementRunner _runner;
    private readonly IBulkReporter _reporter;
    private readonly bool _removeOrphans;

    public PostDataSteps(StatementRunner runner, IBulkReporter reporter, bool removeOrphans)
    {
        _runner = runner;
        _reporter = reporter;
        _removeOrphans = removeOrphans;
    }

    public static string StepOf(PostDataJob job) => $"{SchemaSteps.PostData} {job.Id}";

    public async Task<PostDataOutcome> RunAsync(NpgsqlConnection c, ImportJournal journal, IReadOnlyList<SqlStatement> settings, IReadOnlyList<PostDataJob> jobs, string sourcePath, CancellationToken ct)
    {
        var done = await journal.StepsDoneAsync(sourcePath, ct).ConfigureAwait(false);
        var skipped = new List<SchemaWarning>();
        var orphans = new List<ForeignKeyOrphans>();
        var skippedJobs = new HashSet<string>(StringComparer.Ordinal);
        int applied = 0, resumed = 0;
        bool complete = true;
        await _runner.ApplyAsync(c, settings, sourcePath, _reporter, ct).ConfigureAwait(false);
        using var progress = new ProgressReporter(_reporter);
        using var bar = progress.Begin($"Post-data of {Path.GetFileName(sourcePath)}");
        try
        {
            for (int i = 0; i < jobs.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                var job = jobs[i];
                if (done.Contains(StepOf(job)))
                {
                    resumed++;
                    continue;
                }

                bar.Status($"Step {i + 1} of {jobs.Count}", i * 100 / jobs.Count, currentOperation: job.Statement.Summary(80), force: true);
                if (job.Kind == PostDataJobKind.Validate)
                {
                    if (job.DependsOn.Any(skippedJobs.Contains))
                    {
                        // Its foreign key was skipped (a table not in the dump): nothing to validate.
                        await RecordAsync(c, StepOf(job), sourcePath, ct).ConfigureAwait(false);
                        continue;
                    }

                    var found = await ValidateAsync(c, job, sourcePath, ct).ConfigureAwait(false);
                    if (found is not null)
                    {
                        orphans.Add(found);
                    }

                    continue;
                }

                SchemaWarning? warning;
                await using (var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false))
                {
                    warning = await _runner.ApplyOneAsync(c, job.Statement, sourcePath, _reporter, tx, ct).ConfigureAwait(false);
                    await ImportJournal.RecordStepAsync(tx, StepOf(job), sourcePath, ct).ConfigureAwait(false);
                    await tx.CommitAsync(ct).ConfigureAwait(false);
                }

                if (warning is null)
                {
                    applied++;
                }
                else
                {
                    skippedJobs.Add(job.Id);
                    if (!warning.Repeated)
                    {
                        skipped.Add(warning);
                    }
                }
            }

            await RecordAsync(c, SchemaSteps.PostData, sourcePath, ct).ConfigureAwait(false);
            bar.Complete();
        }
        catch
        {
            complete = false;
            throw;
        }
        finally
        {
            await using var reset = new NpgsqlCommand("RESET ALL", c);
            if (c.State == System.Data.ConnectionState.Open)
            {
                await reset.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        _reporter.Verbose($"{sourcePath}: post-data applied ({applied} statement(s), {resumed} done by an earlier run, {skipped.Count} skipped, {orphans.Count(o => !o.Validated)} foreign key(s) NOT VALID).");
        return new PostDataOutcome(applied, resumed, skipped, orphans, complete);
    }

    /// <summary>Validates one foreign key added NOT VALID; null when it holds, else its orphans.</summary>
    private async Task<ForeignKeyOrphans?> ValidateAsync(NpgsqlConnection c, PostDataJob job, string sourcePath, CancellationToken ct)
    {
        string table = job.Table!, constraint = job.Constraint!;
        await using (var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false))
        {
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
