using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Schema.Tolerance;
using Npgsql;

namespace BulkData.Engine.Import.Schema;

/// <summary>A statement that failed in a way a dump meets on another server, and was skipped.</summary>
internal sealed record SchemaWarning(int Line, string Statement, string Reason, string? Kind = null)
{
    /// <summary>What the summary warning counts it under (the reason when no rule gave a kind).</summary>
    public string KindOrReason => Kind ?? Reason;

    /// <summary>A setting already reported by this runner, skipped again without a new warning (not counted).</summary>
    public bool Repeated { get; init; }
}

/// <summary>What <see cref="StatementRunner.ApplyAsync(NpgsqlConnection, IEnumerable{SqlStatement}, string, IBulkReporter, CancellationToken)"/> did: statements applied, and those skipped with their reasons.</summary>
internal sealed record SchemaApplyResult(int Applied, IReadOnlyList<SchemaWarning> Skipped);

/// <summary>
/// Runs schema statements on a server without psql. Each statement runs on its own (autocommit, or in its own
/// savepoint when a transaction is given), so one that fails does not undo or block the others. A failure is
/// tolerated only when its SQLSTATE and the statement's shape say it is one a real dump meets on another server:
/// a setting this server does not know, a role that does not exist, a trigger whose function is not in the dump
/// (and what refers to that trigger later), a foreign key to a table that is not in the dump. Anything else is
/// an error naming the file and line.
/// </summary>
internal sealed class StatementRunner
{
    private const string Savepoint = "bulkdata_schema_statement";

    // Statements sent in one round trip when they run in a transaction (each in its own savepoint).
    private const int BatchStatements = 64;

    // Triggers skipped because their function is missing: (table, trigger) -> line of the CREATE TRIGGER.
    private readonly Dictionary<(string Table, string Trigger), int> _skippedTriggers = new();
    private readonly List<SchemaWarning> _warnings = new();
    private readonly HashSet<string> _skippedSettings = new(StringComparer.OrdinalIgnoreCase);

    // Post-data runs on several connections at once: the skipped statements' bookkeeping is taken one at a time.
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Every statement skipped by this loader so far, over all calls.</summary>
    public IReadOnlyList<SchemaWarning> Warnings => _warnings;

    /// <summary>
    /// Writes the summary of every statement this runner skipped (<see cref="Summarize"/>) as warnings when disposed:
    /// at the end of an import, whether it ended well or not, so a skipped statement is never only on -Verbose.
    /// </summary>
    private sealed class SummaryOnDispose(StatementRunner runner, string sourceName, IBulkReporter reporter) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done)
            {
                return;
            }

            _done = true;
            foreach (string line in Summarize(runner._warnings, sourceName))
            {
                reporter.Warning(line);
            }
        }
    }

    /// <summary>
    /// Skipped statements as one line per kind (the same reason), most frequent first, e.g.
    /// <c>schema-2024-12-31.sql: 212 statements skipped: role "django" does not exist (-Verbose shows each)</c>.
    /// </summary>
    public IDisposable WarnOnDispose(string sourceName, IBulkReporter reporter) => new SummaryOnDispose(this, sourceName, reporter);

    internal static IEnumerable<string> Summarize(IEnumerable<SchemaWarning> skipped, string sourceName)
        => skipped
            .GroupBy(w => w.KindOrReason, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Min(w => w.Line))
            .Select(g => g.Count() == 1
                ? $"{Path.GetFileName(sourceName)}: 1 statement skipped (line {g.First().Line}): {g.Key} (-Verbose shows it)."
                : $"{Path.GetFileName(sourceName)}: {g.Count()} statements skipped (lines {g.Min(w => w.Line)}-{g.Max(w => w.Line)}): {g.Key} (-Verbose shows each).");

    public Task<SchemaApplyResult> ApplyAsync(NpgsqlConnection connection, IEnumerable<SqlStatement> statements, string sourceName, IBulkReporter reporter, CancellationToken ct)
        => ApplyAsync(connection, statements, sourceName, reporter, null, ct);

    /// <summary>
    /// Runs <paramref name="statements"/> in order on <paramref name="connection"/> (open). With a
    /// <paramref name="transaction"/>, each statement runs in a savepoint of it; without, each commits on its own.
    /// A setting this loader already reported as unknown (the script's <see cref="SchemaScript.Settings"/> applied
    /// again on a second connection) is skipped without a second warning and is not counted again.
    /// </summary>
    /// <exception cref="BulkDataException">A statement failed in a way that is not tolerated (DatabaseError), or a meta-command cannot be run (InvalidData).</exception>
    public async Task<SchemaApplyResult> ApplyAsync(
        NpgsqlConnection connection,
        IEnumerable<SqlStatement> statements,
        string sourceName,
        IBulkReporter reporter,
        NpgsqlTransaction? transaction,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(statements);
        reporter ??= NullReporter.Instance;
        var list = statements as IReadOnlyList<SqlStatement> ?? statements.ToList();
        var skipped = new List<SchemaWarning>();
        int applied = 0;
        using var progress = new ProgressReporter(reporter);
        using var bar = progress.Begin($"Applying schema {Path.GetFileName(sourceName)}");
        for (int index = 0; index < list.Count; index++)
        {
            ct.ThrowIfCancellationRequested();
            var statement = list[index];
            if (transaction is not null && statement.Kind != StatementKind.MetaCommand)
            {
                // In a transaction: this statement and the ones after it in one round trip, each in its savepoint.
                int end = index;
                while (end < list.Count && end - index < BatchStatements && list[end].Kind != StatementKind.MetaCommand)
                {
                    end++;
                }

                bar.Status($"Statement {index + 1} of {list.Count}", index * 100 / list.Count, currentOperation: statement.Summary(80), force: true);
                var (failed, error) = await ApplyBatchAsync(connection, transaction, list, index, end, sourceName, ct).ConfigureAwait(false);
                applied += failed - index;
                if (error is null)
                {
                    index = end - 1;
                    continue;
                }

                // The failed statement's savepoint is still set: back to it, then judged as every failure is.
                await transaction.RollbackAsync(Savepoint, ct).ConfigureAwait(false);
                var batchWarning = await ToleratedFailureAsync(connection, list[failed], new StatementShape(list[failed].Text), sourceName, reporter, error, ct).ConfigureAwait(false);
                if (!batchWarning.Repeated)
                {
                    skipped.Add(batchWarning);
                }

                index = failed;
                continue;
            }

            if (statement.Kind == StatementKind.MetaCommand)
            {
                string name = statement.Text.TrimStart('\\').Split(' ', '\t')[0];
                if (!SchemaScript.IgnoredMetaCommands.Contains(name))
                {
                    throw new BulkDataException(
                        BulkErrorKind.InvalidData,
                        $"{sourceName} line {statement.Line}: the psql meta-command '{statement.Summary(80)}' cannot be run here; parse the script with SchemaScript first.",
                        sourceName);
                }

                continue;
            }

            if (index % 10 == 0)
            {
                // Every tenth statement (as before the reshape): schema statements can each take long (index builds).
                bar.Status($"Statement {index + 1} of {list.Count}", index * 100 / list.Count, currentOperation: statement.Summary(80), force: true);
            }

            if (await ApplyOneAsync(connection, statement, sourceName, reporter, ct).ConfigureAwait(false) is { } warning)
            {
                if (!warning.Repeated)
                {
                    skipped.Add(warning);
                }
            }
            else
            {
                applied++;
            }
        }

        bar.Complete();
        reporter.Verbose($"{sourceName}: {applied} statement(s) applied, {skipped.Count} skipped.");
        return new SchemaApplyResult(applied, skipped);
    }

    /// <summary>
    /// Runs <paramref name="list"/>[<paramref name="start"/>..<paramref name="end"/>) in one batch, each statement
    /// between SAVEPOINT and RELEASE: returns <paramref name="end"/> and null when every one was applied, else the
    /// index of the one that failed and its error (those before it are applied; its savepoint is still set, and
    /// nothing after it ran).
    /// </summary>
    private static async Task<(int Failed, PostgresException? Error)> ApplyBatchAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<SqlStatement> list, int start, int end, string sourceName, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection, transaction) { Timeout = 0 };
        var statements = new Dictionary<NpgsqlBatchCommand, int>(ReferenceEqualityComparer.Instance);
        for (int i = start; i < end; i++)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SAVEPOINT " + Savepoint));
            var command = BatchCommand(list[i]);
            statements[command] = i;
            batch.BatchCommands.Add(command);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("RELEASE SAVEPOINT " + Savepoint));
        }

        try
        {
            await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return (end, null);
        }
        catch (PostgresException e) when (e.BatchCommand is { } failed && statements.TryGetValue(failed, out int at))
        {
            return (at, e);
        }
        catch (NpgsqlException e) when (e is not PostgresException && e.InnerException is not OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw PgErrors.Translate(e, $"{sourceName} lines {list[start].Line}-{list[end - 1].Line}: the server connection failed while running '{list[start].Summary(100)}' and the {end - start - 1} statement(s) after it", sourceName);
        }
    }





    /// <summary>
    /// Runs one SQL statement on its own (autocommit), as <see cref="ApplyAsync(NpgsqlConnection, IEnumerable{SqlStatement}, string, IBulkReporter, NpgsqlTransaction?, CancellationToken)"/>
    /// does without a transaction: null when it was applied, else the warning it was skipped with (a tolerated
    /// failure; a setting already reported is skipped with no new warning and returned as the earlier one).
    /// </summary>
    private async Task<SchemaWarning?> ApplyOneAsync(NpgsqlConnection connection, SqlStatement statement, string sourceName, IBulkReporter reporter, CancellationToken ct)
    {
        var shape = new StatementShape(statement.Text);
        try
        {
            await ExecuteAsync(connection, statement.Text, shape, ct).ConfigureAwait(false);
            return null;
        }
        catch (PostgresException e)
        {
            return await ToleratedFailureAsync(connection, statement, shape, sourceName, reporter, e, ct).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (e.InnerException is not OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw PgErrors.Translate(e, $"{sourceName} line {statement.Line}: the server connection failed while running '{statement.Summary(100)}'", sourceName);
        }
    }

    /// <summary>
    /// A statement that failed, its work already rolled back (its own implicit transaction, or back to its
    /// savepoint): the warning it is skipped with when the failure is tolerated; else throws the error naming the
    /// file and line. The one judge of every failure this runner meets.
    /// </summary>
    internal async Task<SchemaWarning> ToleratedFailureAsync(NpgsqlConnection connection, SqlStatement statement, StatementShape shape, string sourceName, IBulkReporter reporter, PostgresException e, CancellationToken ct)
    {
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            return await ToleratedAsync(connection, statement, shape, sourceName, reporter, e, ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<SchemaWarning> ToleratedAsync(NpgsqlConnection connection, SqlStatement statement, StatementShape shape, string sourceName, IBulkReporter reporter, PostgresException e, CancellationToken ct)
    {
        {
            var tolerated = await ToleranceRules.ToleranceAsync(new ToleranceContext(connection, _skippedTriggers), statement, shape, e.SqlState, ct).ConfigureAwait(false);
            if (tolerated is not { } t)
            {
                throw Failure(sourceName, statement, e);
            }

            string reason = t.Reason;
            var warning = new SchemaWarning(statement.Line, statement.Summary(), reason, t.Kind);
            if (e.SqlState == PostgresErrorCodes.UndefinedObject && UnknownSetting.SettingName(shape) is { } setting && !_skippedSettings.Add(setting))
            {
                // The same session settings re-applied on another connection: reported once per loader.
                reporter.Verbose($"{sourceName} line {statement.Line}: skipped '{statement.Summary(120)}' again: {reason}.");
                return warning with { Repeated = true };
            }

            _warnings.Add(warning);
            // Each statement on -Verbose (and in the schema's ImportResult); one warning per kind at the end.
            reporter.Verbose($"{sourceName} line {statement.Line}: skipped '{statement.Summary(120)}': {reason}.");
            return warning;
        }
    }

    internal static async Task ExecuteAsync(NpgsqlConnection connection, string sql, StatementShape? shape, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        if (shape is not null && HasInnerSemicolon(shape))
        {
            // Npgsql splits a parameterless command at its semicolons (legacy batching). A statement that holds
            // semicolons of its own (BEGIN ATOMIC bodies, multi-action rules) is sent as it is by giving it one
            // positional parameter, which turns that rewriting off; the statement does not use it.
            cmd.Parameters.Add(new NpgsqlParameter { Value = 0 });
        }

        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// <paramref name="statement"/> as a command of a batch, sent as it is: one that holds semicolons of its own gets
    /// the unused parameter of <see cref="ExecuteAsync"/>, which keeps Npgsql from splitting it.
    /// </summary>
    internal static NpgsqlBatchCommand BatchCommand(SqlStatement statement)
    {
        var command = new NpgsqlBatchCommand(statement.Text);
        if (HasInnerSemicolon(new StatementShape(statement.Text)))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = 0 });
        }

        return command;
    }

    /// <summary>A statement that holds semicolons of its own (see <see cref="ExecuteAsync"/>).</summary>
    private static bool HasInnerSemicolon(StatementShape shape)
    {
        for (int i = 0; i < shape.Count - 1; i++)
        {
            if (shape.IsSymbol(i, ';'))
            {
                return true;
            }
        }

        return false;
    }

    private static BulkDataException Failure(string sourceName, SqlStatement statement, PostgresException e)
    {
        int line = statement.Line;
        if (e.Position > 0 && e.Position <= statement.Text.Length)
        {
            // Position counts characters of the statement from 1: point at the line of the error itself.
            for (int i = 0; i < e.Position - 1; i++)
            {
                if (statement.Text[i] == '\n')
                {
                    line++;
                }
            }
        }

        string where = line == statement.Line ? $"line {line}" : $"line {line} (statement from line {statement.Line})";
        string detail = string.IsNullOrEmpty(e.Detail) ? "" : $" {e.Detail}";
        return new BulkDataException(
            BulkErrorKind.DatabaseError,
            $"{sourceName} {where}: {e.MessageText} (SQLSTATE {e.SqlState}).{detail} Statement: '{statement.Summary(200)}'",
            sourceName,
            e,
            e.SqlState);
    }
}
