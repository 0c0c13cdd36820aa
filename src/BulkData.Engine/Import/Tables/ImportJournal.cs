using Npgsql;

namespace BulkData.Engine.Import.Tables;

/// <summary>What the journal says was loaded into one table.</summary>
internal sealed record JournalEntry(string SourceFile, string? ETag, long Size, DateTime MTime, string Sha256, long Rows)
{
    public string Identity => ETag is not null ? $"ETag {ETag}" : $"SHA-256 {Sha256[..12]}...";

    /// <summary>
    /// Same file: same name and ETag when both have one; else same name, size and modification time (hashing a
    /// 55 GB file before deciding would cost as much as loading it; the hash is recorded for audit).
    /// </summary>
    public bool IsSameFile(TableJob job)
    {
        if (!string.Equals(Path.GetFileName(SourceFile), job.FileName, StringComparison.Ordinal))
        {
            return false;
        }

        if (job.ETag is not null && ETag is not null)
        {
            return job.ETag == ETag;
        }

        return Size == job.Bytes && Math.Abs((MTime - job.LastWriteUtc).TotalSeconds) < 1;
    }
}

/// <summary>
/// The import's journal in the target database (schema <c>bulkdata</c>): one row per loaded table (written in the
/// table's own load transaction, so it never records half a table) and one per schema step done. A re-run reads
/// it to skip what is already there.
/// </summary>
internal sealed class ImportJournal
{
    public const string Schema = "bulkdata";

    private readonly NpgsqlConnection _connection;

    private ImportJournal(NpgsqlConnection connection) => _connection = connection;

    /// <summary>Creates the journal's tables when missing; <paramref name="connection"/> is open and stays the journal's for reads.</summary>
    public static async Task<ImportJournal> OpenAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using (var cmd = new NpgsqlCommand($"""
            CREATE SCHEMA IF NOT EXISTS {Schema};
            CREATE TABLE IF NOT EXISTS {Schema}.import_journal (
                table_name text PRIMARY KEY,
                dataset text,
                source_file text NOT NULL,
                etag text,
                file_size bigint NOT NULL,
                file_mtime timestamptz NOT NULL,
                sha256 text NOT NULL,
                rows bigint NOT NULL,
                loaded_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE IF NOT EXISTS {Schema}.import_steps (
                step text NOT NULL,
                source_file text NOT NULL,
                done_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (step, source_file));
            """, connection) { CommandTimeout = 0 })
        {
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        return new ImportJournal(connection);
    }

    public async Task<bool> StepDoneAsync(string step, string source, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT 1 FROM {Schema}.import_steps WHERE step = $1 AND source_file = $2", _connection);
        cmd.Parameters.Add(new NpgsqlParameter { Value = step });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Path.GetFileName(source) });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
    }

    /// <summary>The steps recorded as done for <paramref name="source"/> (the schema script).</summary>
    public async Task<HashSet<string>> StepsDoneAsync(string source, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT step FROM {Schema}.import_steps WHERE source_file = $1", _connection);
        cmd.Parameters.Add(new NpgsqlParameter { Value = Path.GetFileName(source) });
        var set = new HashSet<string>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            set.Add(r.GetString(0));
        }

        return set;
    }

    /// <summary>Records a schema step as done, inside the transaction that ran it (done_at: when its statement ended).</summary>
    public static async Task RecordStepAsync(NpgsqlTransaction tx, string step, string source, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(StepSql, tx.Connection, tx);
        cmd.Parameters.AddRange(StepParameters(step, source));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The same record as <see cref="RecordStepAsync"/>, as a command to send in one batch after the statement it
    /// records: the batch is one implicit transaction, so the row commits with the statement or not at all.
    /// </summary>
    public static NpgsqlBatchCommand StepCommand(string step, string source)
    {
        var cmd = new NpgsqlBatchCommand(StepSql);
        cmd.Parameters.AddRange(StepParameters(step, source));
        return cmd;
    }

    /// <summary>The record of a schema step (the one statement both ways of recording it send).</summary>
    private static readonly string StepSql = $"INSERT INTO {Schema}.import_steps (step, source_file, done_at) VALUES ($1, $2, clock_timestamp()) ON CONFLICT DO NOTHING";

    private static NpgsqlParameter[] StepParameters(string step, string source)
        => new[] { new NpgsqlParameter { Value = step }, new NpgsqlParameter { Value = Path.GetFileName(source) } };

    public async Task<JournalEntry?> EntryAsync(string qualifiedTable, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT source_file, etag, file_size, file_mtime, sha256, rows FROM {Schema}.import_journal WHERE table_name = $1", _connection);
        cmd.Parameters.Add(new NpgsqlParameter { Value = qualifiedTable });
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false))
        {
            return null;
        }

        return new JournalEntry(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2), r.GetDateTime(3).ToUniversalTime(), r.GetString(4), r.GetInt64(5));
    }

    /// <summary>Records a table as loaded from <paramref name="job"/>'s file, inside the transaction that loaded it (its last statement: loaded_at is when the load ended).</summary>
    public static async Task RecordTableAsync(NpgsqlTransaction tx, TableJob job, string sha256, long rows, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"""
            INSERT INTO {Schema}.import_journal (table_name, dataset, source_file, etag, file_size, file_mtime, sha256, rows, loaded_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())
            ON CONFLICT (table_name) DO UPDATE SET dataset = EXCLUDED.dataset, source_file = EXCLUDED.source_file, etag = EXCLUDED.etag,
                file_size = EXCLUDED.file_size, file_mtime = EXCLUDED.file_mtime, sha256 = EXCLUDED.sha256, rows = EXCLUDED.rows, loaded_at = clock_timestamp()
            """, tx.Connection, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = job.QualifiedTable });
        AddLoadParameters(cmd, job, sha256, rows);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// What a journal row records of a table's load, as the next parameters of <paramref name="cmd"/>, in this order:
    /// dataset, source_file, etag, file_size, file_mtime, sha256, rows (the live journal's and a generation's rows alike).
    /// </summary>
    internal static void AddLoadParameters(NpgsqlCommand cmd, TableJob job, string sha256, long rows)
    {
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.Dataset ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { Value = job.FilePath });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.ETag ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { Value = job.Bytes });
        cmd.Parameters.Add(new NpgsqlParameter { Value = DateTime.SpecifyKind(job.LastWriteUtc, DateTimeKind.Utc) });
        cmd.Parameters.Add(new NpgsqlParameter { Value = sha256 });
        cmd.Parameters.Add(new NpgsqlParameter { Value = rows });
    }
}
