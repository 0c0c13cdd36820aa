using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>A generation as the journal records it.</summary>
internal sealed record GenerationRow(long Id, string State, string StagingSchema, string PreviousSchema, bool KeepPrevious, bool PreviousDropped, string[] Tables, long StagingBytes, DateTime? SwappedAt);

/// <summary>
/// The generations of -Online imports, in the journal's schema: <c>bulkdata.generations</c> (one row per generation:
/// Staging, Swapped, Undone; its schemas) and <c>bulkdata.generation_tables</c> (per table the file loaded into the
/// staging copy, side 'new', written in that table's load transaction; and the live journal row it replaced,
/// side 'previous', written in the swap). The swap changes a generation's state in the swap's own transaction,
/// so the journal never says more than the catalog holds.
/// </summary>
internal static class GenerationJournal
{
    private const string S = ImportJournal.Schema;

    public static async Task EnsureAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"""
            CREATE TABLE IF NOT EXISTS {S}.generations (
                generation bigserial PRIMARY KEY,
                state text NOT NULL,
                staging_schema text NOT NULL,
                previous_schema text NOT NULL,
                keep_previous boolean NOT NULL DEFAULT false,
                previous_dropped boolean NOT NULL DEFAULT false,
                tables text[] NOT NULL,
                staging_bytes bigint NOT NULL DEFAULT 0,
                started_at timestamptz NOT NULL DEFAULT now(),
                swapped_at timestamptz,
                undone_at timestamptz);
            CREATE TABLE IF NOT EXISTS {S}.generation_tables (
                generation bigint NOT NULL REFERENCES {S}.generations ON DELETE CASCADE,
                side text NOT NULL,
                table_name text NOT NULL,
                dataset text,
                source_file text NOT NULL,
                etag text,
                file_size bigint NOT NULL,
                file_mtime timestamptz NOT NULL,
                sha256 text NOT NULL,
                rows bigint NOT NULL,
                loaded_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (generation, side, table_name));
            """, c) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private const string Columns = "generation, state, staging_schema, previous_schema, keep_previous, previous_dropped, tables, staging_bytes, swapped_at";

    private static GenerationRow Read(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetBoolean(4), r.GetBoolean(5), r.GetFieldValue<string[]>(6), r.GetInt64(7),
        r.IsDBNull(8) ? null : r.GetDateTime(8).ToUniversalTime());

    private static async Task<List<GenerationRow>> QueryAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string where, CancellationToken ct, params object[] args)
    {
        await using var cmd = new NpgsqlCommand($"SELECT {Columns} FROM {S}.generations WHERE {where} ORDER BY generation DESC", c, tx);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }

        var list = new List<GenerationRow>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(Read(r));
        }

        return list;
    }

    /// <summary>The newest generation still being staged (a run that stopped before its swap), if any.</summary>
    public static async Task<GenerationRow?> StagingAsync(NpgsqlConnection c, CancellationToken ct)
        => (await QueryAsync(c, null, "state = 'Staging'", ct).ConfigureAwait(false)).FirstOrDefault();

    public static async Task<GenerationRow?> GetAsync(NpgsqlConnection c, NpgsqlTransaction? tx, long id, CancellationToken ct)
        => (await QueryAsync(c, tx, "generation = $1", ct, id).ConfigureAwait(false)).FirstOrDefault();

    /// <summary>Swapped generations whose previous tables should have been dropped (a run that stopped right after its swap).</summary>
    public static Task<List<GenerationRow>> PendingDropsAsync(NpgsqlConnection c, CancellationToken ct)
        => QueryAsync(c, null, "state = 'Swapped' AND NOT keep_previous AND NOT previous_dropped", ct);

    /// <summary>The newest swapped generation whose previous tables are kept: what Undo-BulkImport swaps back by default.</summary>
    public static async Task<GenerationRow?> LatestUndoableAsync(NpgsqlConnection c, CancellationToken ct)
        => (await QueryAsync(c, null, "state = 'Swapped' AND NOT previous_dropped", ct).ConfigureAwait(false)).FirstOrDefault();

    /// <summary>A new generation in state Staging; its schemas are named after its number.</summary>
    public static async Task<GenerationRow> BeginAsync(NpgsqlConnection c, IReadOnlyList<string> tables, bool keepPrevious, long stagingBytes, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"""
            INSERT INTO {S}.generations (state, staging_schema, previous_schema, keep_previous, tables, staging_bytes)
            VALUES ('Staging', '', '', $1, $2, $3) RETURNING generation
            """, c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = keepPrevious });
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = stagingBytes });
        long id = Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false));
        await using (var fix = new NpgsqlCommand($"UPDATE {S}.generations SET staging_schema = 'bulkdata_stage_' || generation, previous_schema = 'bulkdata_prev_' || generation WHERE generation = $1", c))
        {
            fix.Parameters.Add(new NpgsqlParameter { Value = id });
            await fix.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        return (await GetAsync(c, null, id, ct).ConfigureAwait(false))!;
    }

    /// <summary>A resumed generation takes this run's table list, keep choice and size.</summary>
    public static async Task UpdateStagingAsync(NpgsqlConnection c, long id, IReadOnlyList<string> tables, bool keepPrevious, long stagingBytes, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"UPDATE {S}.generations SET tables = $2, keep_previous = $3, staging_bytes = $4 WHERE generation = $1", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = keepPrevious });
        cmd.Parameters.Add(new NpgsqlParameter { Value = stagingBytes });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The file each staged table was loaded from (side 'new').</summary>
    public static async Task<Dictionary<string, JournalEntry>> StagedAsync(NpgsqlConnection c, long id, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT table_name, source_file, etag, file_size, file_mtime, sha256, rows FROM {S}.generation_tables WHERE generation = $1 AND side = 'new'", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        var map = new Dictionary<string, JournalEntry>(StringComparer.OrdinalIgnoreCase);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            map[r.GetString(0)] = new JournalEntry(r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt64(3), r.GetDateTime(4).ToUniversalTime(), r.GetString(5), r.GetInt64(6));
        }

        return map;
    }

    public static async Task ForgetStagedAsync(NpgsqlConnection c, long id, string table, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"DELETE FROM {S}.generation_tables WHERE generation = $1 AND side = 'new' AND table_name = $2", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        cmd.Parameters.Add(new NpgsqlParameter { Value = table });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Records a staged table (side 'new'), inside the transaction that loaded it.</summary>
    public static async Task RecordStagedAsync(NpgsqlTransaction tx, long id, TableJob job, string sha256, long rows, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"""
            INSERT INTO {S}.generation_tables (generation, side, table_name, dataset, source_file, etag, file_size, file_mtime, sha256, rows)
            VALUES ($1, 'new', $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (generation, side, table_name) DO UPDATE SET dataset = EXCLUDED.dataset, source_file = EXCLUDED.source_file, etag = EXCLUDED.etag,
                file_size = EXCLUDED.file_size, file_mtime = EXCLUDED.file_mtime, sha256 = EXCLUDED.sha256, rows = EXCLUDED.rows, loaded_at = now()
            """, tx.Connection, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        cmd.Parameters.Add(new NpgsqlParameter { Value = job.QualifiedTable });
        ImportJournal.AddLoadParameters(cmd, job, sha256, rows);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// In the swap's transaction: the live journal rows of the tables are kept as side 'previous', the staged rows
    /// become the live journal's, and the generation is Swapped.
    /// </summary>
    public static Task RecordSwapAsync(NpgsqlTransaction tx, long id, CancellationToken ct) => RunEachAsync(tx, id, ct,
        $"""
        INSERT INTO {S}.generation_tables (generation, side, table_name, dataset, source_file, etag, file_size, file_mtime, sha256, rows, loaded_at)
        SELECT $1, 'previous', j.table_name, j.dataset, j.source_file, j.etag, j.file_size, j.file_mtime, j.sha256, j.rows, j.loaded_at
        FROM {S}.import_journal j JOIN {S}.generations g ON g.generation = $1 WHERE j.table_name = ANY (g.tables)
        ON CONFLICT DO NOTHING
        """,
        $"DELETE FROM {S}.import_journal j USING {S}.generations g WHERE g.generation = $1 AND j.table_name = ANY (g.tables)",
        $"""
        INSERT INTO {S}.import_journal (table_name, dataset, source_file, etag, file_size, file_mtime, sha256, rows, loaded_at)
        SELECT table_name, dataset, source_file, etag, file_size, file_mtime, sha256, rows, loaded_at FROM {S}.generation_tables WHERE generation = $1 AND side = 'new'
        """,
        $"UPDATE {S}.generations SET state = 'Swapped', swapped_at = now() WHERE generation = $1");

    /// <summary>In the undo's transaction: the live journal rows go back to the previous generation's, and the generation is Undone.</summary>
    public static Task RecordUndoAsync(NpgsqlTransaction tx, long id, CancellationToken ct) => RunEachAsync(tx, id, ct,
        $"DELETE FROM {S}.import_journal j USING {S}.generations g WHERE g.generation = $1 AND j.table_name = ANY (g.tables)",
        $"""
        INSERT INTO {S}.import_journal (table_name, dataset, source_file, etag, file_size, file_mtime, sha256, rows, loaded_at)
        SELECT table_name, dataset, source_file, etag, file_size, file_mtime, sha256, rows, loaded_at FROM {S}.generation_tables WHERE generation = $1 AND side = 'previous'
        """,
        $"UPDATE {S}.generations SET state = 'Undone', undone_at = now() WHERE generation = $1");

    /// <summary>Runs statements (each naming the generation as $1) one by one in <paramref name="tx"/>.</summary>
    private static async Task RunEachAsync(NpgsqlTransaction tx, long id, CancellationToken ct, params string[] statements)
    {
        foreach (var sql in statements)
        {
            await using var cmd = new NpgsqlCommand(sql, tx.Connection, tx);
            cmd.Parameters.Add(new NpgsqlParameter { Value = id });
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    public static async Task MarkPreviousDroppedAsync(NpgsqlConnection c, NpgsqlTransaction? tx, long id, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"UPDATE {S}.generations SET previous_dropped = true WHERE generation = $1", c, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
