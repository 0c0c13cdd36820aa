using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// Runs the DDL of -Online that is not a build step (the staging schema and copies, the swap, the undo, the drop
/// of a previous generation): a server error is translated by <see cref="PgErrors"/> like every other error of
/// the import (its kind, SQLSTATE and message), with what was being done and the object named, and PostgreSQL's
/// detail and hint when it gives them.
/// </summary>
internal static class StagingDdl
{
    /// <summary>Runs <paramref name="statements"/> in one transaction on <paramref name="c"/>.</summary>
    public static async Task RunAsync(NpgsqlConnection c, IReadOnlyList<string> statements, string doing, string target, CancellationToken ct)
    {
        try
        {
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            foreach (var sql in statements)
            {
                await using var cmd = new NpgsqlCommand(sql, c, tx) { CommandTimeout = 0 };
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        catch (PostgresException e) when (!ct.IsCancellationRequested)
        {
            throw Translate(e, doing, target);
        }
    }

    /// <summary>Runs one statement (its own transaction).</summary>
    public static Task RunAsync(NpgsqlConnection c, string statement, string doing, string target, CancellationToken ct)
        => RunAsync(c, new[] { statement }, doing, target, ct);

    /// <summary>The translated error of a staging DDL statement.</summary>
    public static BulkDataException Translate(PostgresException e, string doing, string target) => PgErrors.Translate(e, doing, target, withDetail: true);
}
