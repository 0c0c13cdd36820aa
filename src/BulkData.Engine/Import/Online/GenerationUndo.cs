using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>What Undo-BulkImport swaps back.</summary>
public sealed record UndoOptions
{
    public required PgConnectionInfo Connection { get; init; }

    /// <summary>The generation to undo (else the newest swapped one whose previous tables were kept).</summary>
    public long? Generation { get; init; }

    public bool NoWait { get; init; }
}

/// <summary>
/// Undo-BulkImport: swaps a kept previous generation back into place, the way it was swapped out
/// (<see cref="GenerationSwap"/>: one transaction, short lock_timeout retried, foreign keys of other tables
/// re-pointed and validated, sequences never lowered). The undone generation's tables go to its staging schema,
/// named in the result; the live journal rows return to the previous generation's files.
/// </summary>
public sealed class GenerationUndo
{
    private readonly UndoOptions _options;
    private readonly IBulkReporter _reporter;

    public GenerationUndo(UndoOptions options, IBulkReporter? reporter = null)
    {
        _options = options;
        _reporter = reporter ?? NullReporter.Instance;
    }

    /// <summary>The generation that would be undone (for ShouldProcess), or an error saying why there is none.</summary>
    public async Task<BulkGeneration> FindAsync(CancellationToken ct)
    {
        var conn = _options.Connection.WithoutPooling();
        await using var c = conn.CreateConnection();
        await BulkImporter.OpenAsync(c, conn, ct).ConfigureAwait(false);
        var g = await FindRowAsync(c, ct).ConfigureAwait(false);
        return ToResult(g, g.State, g.PreviousSchema, Array.Empty<ForeignKeyOrphans>(), 0);
    }

    private async Task<GenerationRow> FindRowAsync(NpgsqlConnection c, CancellationToken ct)
    {
        string db = _options.Connection.Database;
        await using (var exists = new NpgsqlCommand($"SELECT to_regclass('{ImportJournal.Schema}.generations') IS NOT NULL", c))
        {
            if (await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is not true)
            {
                throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"Database {db} has no generation to undo: no -Online import ran there.", db);
            }
        }

        var g = _options.Generation is { } id
            ? await GenerationJournal.GetAsync(c, null, id, ct).ConfigureAwait(false)
            : await GenerationJournal.LatestUndoableAsync(c, ct).ConfigureAwait(false);
        if (g is null)
        {
            throw new BulkDataException(BulkErrorKind.ObjectNotFound, _options.Generation is { } n
                ? $"Database {db} has no generation {n}."
                : $"Database {db} has no swapped generation whose previous tables were kept: run Invoke-BulkImport -Online -KeepPrevious to keep one.", db);
        }

        if (g.State != "Swapped" || g.PreviousDropped)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument,
                $"Generation {g.Id} of {db} cannot be undone: it is {g.State}{(g.PreviousDropped ? " and its previous tables were dropped (it ran without -KeepPrevious)" : "")}.", db);
        }

        await using (var later = new NpgsqlCommand($"SELECT min(generation) FROM {ImportJournal.Schema}.generations WHERE generation > $1 AND state = 'Swapped' AND tables && $2", c))
        {
            later.Parameters.Add(new NpgsqlParameter { Value = g.Id });
            later.Parameters.Add(new NpgsqlParameter { Value = g.Tables });
            if (await later.ExecuteScalarAsync(ct).ConfigureAwait(false) is long newer)
            {
                throw new BulkDataException(BulkErrorKind.InvalidArgument, $"Generation {g.Id} of {db} cannot be undone: generation {newer} swapped some of its tables in later; undo that one first.", db);
            }
        }

        return g;
    }

    public async Task<BulkGeneration> RunAsync(CancellationToken ct)
    {
        string db = _options.Connection.Database;
        await using var databaseLock = await DatabaseLock.AcquireAsync(_options.Connection, db, _options.NoWait, _reporter, ct).ConfigureAwait(false);
        var conn = _options.Connection.WithoutPooling();
        await using var c = conn.CreateConnection();
        await BulkImporter.OpenAsync(c, conn, ct).ConfigureAwait(false);
        var g = await FindRowAsync(c, ct).ConfigureAwait(false);
        await LiveCatalog.UseCatalogSearchPathAsync(c, ct).ConfigureAwait(false);

        var kept = new List<LiveTable>();
        var tables = new List<(string Schema, string Name)>();
        foreach (var t in g.Tables)
        {
            int dot = t.IndexOf('.');
            tables.Add((t[..dot], t[(dot + 1)..]));
            try
            {
                kept.Add(await LiveCatalog.ReadAsync(c, g.PreviousSchema, t[(dot + 1)..], ct).ConfigureAwait(false));
            }
            catch (BulkDataException)
            {
                throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"Generation {g.Id} of {db} cannot be undone: {g.PreviousSchema}.{t[(dot + 1)..]} (the previous {t}) is gone; nothing was changed.", db);
            }
        }

        var max = await GenerationSwap.MaxValuesAsync(c, g.PreviousSchema, kept, ct).ConfigureAwait(false);
        var byLive = max.ToDictionary(kv => $"{tables.First(t => t.Name == kv.Key[(kv.Key.IndexOf('.') + 1)..]).Schema}.{kv.Key[(kv.Key.IndexOf('.') + 1)..]}", kv => kv.Value, StringComparer.OrdinalIgnoreCase);
        var swap = await GenerationSwap.SwapAsync(conn, new SwapPlan(g.Id, tables, g.PreviousSchema, g.StagingSchema, byLive),
            async tx =>
            {
                await GenerationJournal.RecordUndoAsync(tx, g.Id, ct).ConfigureAwait(false);
                await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {Sql.QualifiedName.QuoteIdentifier(g.PreviousSchema)}", tx.Connection, tx);
                await drop.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }, _reporter, ct).ConfigureAwait(false);
        _reporter.Verbose($"Generation {g.Id} undone: the previous tables are live again; the undone ones are in {g.StagingSchema}.");
        var orphans = await GenerationSwap.ValidateRepointedAsync(conn, swap.RepointedKeys, _reporter, ct).ConfigureAwait(false);
        var row = await GenerationJournal.GetAsync(c, null, g.Id, ct).ConfigureAwait(false);
        return ToResult(row ?? g, "Undone", null, orphans, swap.Attempts);
    }

    private BulkGeneration ToResult(GenerationRow g, string state, string? previous, IReadOnlyList<ForeignKeyOrphans> orphans, int attempts) => new()
    {
        Generation = g.Id, Database = _options.Connection.Database, State = state, Tables = g.Tables, StagingSchema = g.StagingSchema,
        PreviousSchema = previous, StagingBytes = g.StagingBytes, SwapAttempts = attempts, SwappedAt = g.SwappedAt, Orphans = orphans,
    };
}
