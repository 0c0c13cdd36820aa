using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// Runs a step of the schema script (pre-data, post-data) once: its statements and the journal row that records
/// the step, in one transaction, so a re-run knows whether the step is done. The session is reset afterwards (the
/// script's settings do not leak into the table loads).
/// </summary>
internal sealed class SchemaSteps
{
    public const string PreData = "pre-data";
    public const string PostData = "post-data";

    private readonly StatementRunner _runner;
    private readonly IBulkReporter _reporter;

    public SchemaSteps(StatementRunner runner, IBulkReporter reporter)
    {
        _runner = runner;
        _reporter = reporter;
    }

    public async Task<SchemaApplyResult> RunAsync(NpgsqlConnection connection, string step, IEnumerable<SqlStatement> statements, string sourcePath, CancellationToken ct)
    {
        SchemaApplyResult result;
        await using (var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false))
        {
            result = await _runner.ApplyAsync(connection, statements, sourcePath, _reporter, tx, ct).ConfigureAwait(false);
            await ImportJournal.RecordStepAsync(tx, step, sourcePath, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }

        await using (var reset = new NpgsqlCommand("RESET ALL", connection))
        {
            await reset.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        _reporter.Verbose($"{sourcePath}: {step} applied ({result.Applied} statements, {result.Skipped.Count} skipped).");
        return result;
    }
}
