using BulkData.Engine.Import.Sql;
namespace BulkData.Engine.Import;

public enum ImportStatus
{
    Imported,
    Skipped,
    Failed,
}

/// <summary>One table of an import: what was loaded from which file (the output of Invoke-BulkImport).</summary>
public sealed class ImportResult
{
    public required string Table { get; init; }

    public string? Dataset { get; init; }

    public required string File { get; init; }

    /// <summary>Rows in the table from this file (COPY's count, checked against the CSV records read).</summary>
    public long Rows { get; init; }

    /// <summary>Bytes of the file read (compressed bytes for a .bz2).</summary>
    public long Bytes { get; init; }

    /// <summary>Bytes received from the bucket for a table streamed from it (null for a local file).</summary>
    public long? ReceivedBytes { get; init; }

    /// <summary>Bytes after decoding: the CSV loaded by COPY.</summary>
    public long DecodedBytes { get; init; }

    public TimeSpan Duration { get; init; }

    public ImportStatus Status { get; init; }

    /// <summary>Warnings about this table (orphans, skipped schema statements counted on the run).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    public string? Error { get; init; }

    public string Database { get; init; } = "";

    public string Dialect { get; init; } = "";

    /// <summary>Why that dialect: stated (-Dialect, load script), sniffed (from the first blocks), prior (the dump's date), or reloaded after a finding.</summary>
    public string DialectReason { get; init; } = "";

    /// <summary>Columns of the file the table lacks, dropped from every record (-ExcludeExtraColumns).</summary>
    public IReadOnlyList<string> ExcludedColumns { get; init; } = Array.Empty<string>();

    /// <summary>Values dropped with <see cref="ExcludedColumns"/> (records times columns).</summary>
    public long DroppedValues { get; init; }

    /// <summary>On the schema's result: the foreign keys whose validation found orphans (each NOT VALID, or validated after -RemoveOrphans).</summary>
    public IReadOnlyList<ForeignKeyOrphans> Orphans { get; init; } = Array.Empty<ForeignKeyOrphans>();

    public override string ToString() => $"{Table}: {Status} ({Rows} rows)";
}

/// <summary>What one import input is: a data file, a schema script or a load script.</summary>
public sealed record ImportInput(string Path, string? Dataset = null, string? ETag = null, Manifest.EntryKind? Kind = null)
{
    /// <summary>An object in the bucket, streamed into PostgreSQL with no local file (its Path is <c>s3://bucket/key</c>).</summary>
    public Manifest.ManifestEntry? Entry { get; init; }

    /// <summary>The input for an object of a listing (Get-BulkManifest's ManifestEntry).</summary>
    public static ImportInput Of(Manifest.ManifestEntry entry)
        => new($"s3://{entry.Bucket}/{entry.Key}", entry.Dataset, entry.ETag, entry.Kind) { Entry = entry };
}

/// <summary>One step of the import plan, as -WhatIf shows it.</summary>
public sealed class ImportPlanStep
{
    public int Order { get; init; }

    public string Database { get; init; } = "";

    /// <summary>CreateDatabase, PreData, Load, PostData; with -Online also StagingSpace (Bytes: the space the staging generation needs) and Swap.</summary>
    public string Step { get; init; } = "";

    public string? Table { get; init; }

    public string? File { get; init; }

    public long Bytes { get; init; }

    public string? Dialect { get; init; }

    public string Detail { get; init; } = "";

    public override string ToString() => $"{Order}. {Step} {Table} {Detail}".Trim();
}

/// <summary>A -Verify finding: orphans of one foreign key, or duplicate values of one key.</summary>
public sealed class ImportVerification
{
    public required string Table { get; init; }

    /// <summary>Orphans or DuplicateKeys.</summary>
    public required string Check { get; init; }

    public required string Constraint { get; init; }

    public required string Columns { get; init; }

    public string? References { get; init; }

    public long Count { get; init; }

    public bool Passed => Count == 0;
}

public sealed record ImportOptions
{
    public required PgConnectionInfo Connection { get; init; }

    /// <summary>The target database was named explicitly (-Database): it wins over the schema's CREATE DATABASE.</summary>
    public bool DatabaseGiven { get; init; }

    public string? SchemaPath { get; init; }

    public IReadOnlyDictionary<string, string>? TableMap { get; init; }

    /// <summary>Overrides the dialect of every file (else the load script's, else the current Escape dialect).</summary>
    public CopyDialect? Dialect { get; init; }

    public int ThrottleLimit { get; init; } = Environment.ProcessorCount;

    public bool Force { get; init; }

    /// <summary>Fail at once, naming the owner, when another import holds the target database's lock (instead of waiting for it).</summary>
    public bool NoWait { get; init; }

    public bool Verify { get; init; }

    /// <summary>Delete the orphans of a foreign key whose validation fails, then validate it (else it stays NOT VALID).</summary>
    public bool RemoveOrphans { get; init; }

    /// <summary>Load the columns a file and its table share, dropping the file's others from each record (else drift is an error).</summary>
    public bool ExcludeExtraColumns { get; init; }

    /// <summary>Threads of each .bz2 decoder (0: the decoder's default).</summary>
    public int DecoderThreads { get; init; }

    /// <summary>
    /// Session settings of the import's connections, loads and post-data alike (-ImportSetting): override the chosen
    /// default_toast_compression, maintenance_work_mem and max_parallel_maintenance_workers, or set any other setting
    /// (docs/import.md).
    /// </summary>
    public IReadOnlyDictionary<string, string>? SessionSettings { get; init; }

    /// <summary>COPY streams for the largest table of a fresh load (0: chosen from -ThrottleLimit and its share of the bytes).</summary>
    public int CopyStreams { get; init; }
    // -Online (issue 14): load beside the live tables, swap in one transaction.

    /// <summary>Existing tables are loaded into a staging generation and swapped in at once (readers never wait for the load).</summary>
    public bool Online { get; init; }

    /// <summary>With <see cref="Online"/>: the previous generation is kept in a schema of its own (Undo-BulkImport swaps it back).</summary>
    public bool KeepPrevious { get; init; }

    // Streaming from the bucket (issue 13).

    /// <summary>
    /// How objects streamed from the bucket are read: retries, backoff, time budget, -StallTimeout and credentials
    /// exactly as Start-BulkFetch's (its Destination is not used). Null: Start-BulkFetch's defaults.
    /// </summary>
    public Transfer.FetchOptions? Streaming { get; init; }

    /// <summary>-KeepDownload: streamed objects are also written, verified, into this folder under Start-BulkFetch's names.</summary>
    public string? KeepDownload { get; init; }
}

/// <summary>
/// A foreign key whose check of the loaded rows failed because of orphans (rows whose key names no parent, as a
/// dump exported table by table carries): it exists <c>NOT VALID</c> (it guards new rows) unless the orphans
/// were removed (-RemoveOrphans) and it was validated.
/// </summary>
public sealed class ForeignKeyOrphans
{
    public required string Table { get; init; }

    public required string Constraint { get; init; }

    public required string Columns { get; init; }

    public required string References { get; init; }

    /// <summary>Rows of <see cref="Table"/> whose key has no match in <see cref="References"/>.</summary>
    public long Count { get; init; }

    /// <summary>A few of the orphans' key values (at most <see cref="MaxSamples"/>), for the report.</summary>
    public IReadOnlyList<string> SampleKeys { get; init; } = Array.Empty<string>();

    /// <summary>Orphans deleted (-RemoveOrphans).</summary>
    public long Removed { get; init; }

    /// <summary>The foreign key is validated (false: it stays NOT VALID).</summary>
    public bool Validated { get; init; }

    public const int MaxSamples = 5;

    public override string ToString() => $"{Table} ({Constraint}): {Count} orphan(s){(Validated ? $", {Removed} removed, validated" : ", NOT VALID")}";
}
