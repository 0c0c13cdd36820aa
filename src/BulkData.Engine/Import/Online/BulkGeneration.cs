namespace BulkData.Engine.Import;

/// <summary>
/// One generation of the live tables of an -Online import: the tables loaded beside the live ones, swapped in
/// (or back by Undo-BulkImport). Output once per -Online run and by Undo-BulkImport.
/// </summary>
public sealed class BulkGeneration
{
    public long Generation { get; init; }

    public string Database { get; init; } = "";

    /// <summary>Staging (loaded beside the live tables, not swapped yet), Swapped (live), Undone (swapped back).</summary>
    public string State { get; init; } = "";

    /// <summary>The tables of the dump swapped in (schema.table, as the live tables are named).</summary>
    public IReadOnlyList<string> Tables { get; init; } = Array.Empty<string>();

    /// <summary>The schema the new generation was loaded into (after an undo, the undone tables are there).</summary>
    public string StagingSchema { get; init; } = "";

    /// <summary>The schema that holds the previous generation (-KeepPrevious), or null once its tables were dropped.</summary>
    public string? PreviousSchema { get; init; }

    /// <summary>The space the staging generation needs in the database: pg_total_relation_size of the live tables it replaces.</summary>
    public long StagingBytes { get; init; }

    /// <summary>Free bytes measured where the database's tablespace lives (only when the server is on this machine), else null.</summary>
    public long? FreeBytes { get; init; }

    /// <summary>Transactions the swap needed (each waits at most the swap's lock_timeout before it is retried with backoff).</summary>
    public int SwapAttempts { get; init; }

    public DateTime? SwappedAt { get; init; }

    /// <summary>Foreign keys (of the new generation, or from tables outside the dump) left NOT VALID because of orphans.</summary>
    public IReadOnlyList<ForeignKeyOrphans> Orphans { get; init; } = Array.Empty<ForeignKeyOrphans>();

    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    public override string ToString() => $"generation {Generation} of {Database}: {State} ({Tables.Count} tables){(PreviousSchema is null ? "" : $", previous in {PreviousSchema}")}";
}
