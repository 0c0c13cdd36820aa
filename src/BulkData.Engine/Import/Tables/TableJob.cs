using BulkData.Engine.DumpFiles;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Manifest;

namespace BulkData.Engine.Import.Tables;

/// <summary>One table to load: the file, its table, its dialect and, from a load script, its column list.</summary>
internal sealed record TableJob
{
    public required string Schema { get; init; }

    public required string Table { get; init; }

    public string? Dataset { get; init; }

    public required string FilePath { get; init; }

    public string? ETag { get; init; }

    public long Bytes { get; init; }

    public DateTime LastWriteUtc { get; init; }

    public required CopyDialect Dialect { get; init; }

    /// <summary>Why this dialect: stated (-Dialect, load script), prior (the dump's date; sniffed from the bytes at load), sniffed.</summary>
    public string DialectReason { get; init; } = Tables.DialectSniffer.Stated;

    public IReadOnlyList<string>? ScriptColumns { get; init; }

    /// <summary>Where the table and dialect came from: LoadScript, TableMap, Catalog.</summary>
    public string Source { get; init; } = "Catalog";

    public string QualifiedTable => $"{Schema}.{Table}";

    public string FileName => System.IO.Path.GetFileName(FilePath);

    public bool IsBzip2 => FetchLayout.IsCompressed(FilePath);

    /// <summary>Where the bytes come from when not the local file at <see cref="FilePath"/> (an object streamed from the bucket).</summary>
    public TableBytes? Input { get; init; }
}
