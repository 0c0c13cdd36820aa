namespace BulkData.Engine.Manifest;

/// <summary>What a file of a dump is for.</summary>
public enum EntryKind
{
    /// <summary>A table export: <c>&lt;dataset&gt;-&lt;date&gt;.csv.bz2</c> (or .csv).</summary>
    Data,

    /// <summary>The schema dump, <c>schema-&lt;date&gt;.sql</c>.</summary>
    Schema,

    /// <summary>The publisher's load script, <c>load-bulk-data-&lt;date&gt;.sh</c>.</summary>
    LoadScript,

    /// <summary>Anything else with a dated name.</summary>
    Other,
}

/// <summary>One object of the bucket chosen by Get-BulkManifest.</summary>
public sealed class ManifestEntry
{
    public required string Dataset { get; init; }

    /// <summary>The dump this file belongs to (the date of its CSV exports).</summary>
    public required DateTime DumpDate { get; init; }

    /// <summary>The date written in the file name (a schema can be one day later than its dump).</summary>
    public required DateTime FileDate { get; init; }

    public required string Key { get; init; }

    public required string FileName { get; init; }

    public required long Size { get; init; }

    /// <summary>The ETag as listed, without quotes. Multipart uploads end in <c>-&lt;parts&gt;</c>.</summary>
    public required string ETag { get; init; }

    public required DateTime LastModified { get; init; }

    public required EntryKind Kind { get; init; }

    /// <summary>A failed export (too small to hold a CSV header); only listed with -IncludeStub.</summary>
    public bool IsStub { get; init; }

    public required string Bucket { get; init; }

    public required string Region { get; init; }

    public string? EndpointUrl { get; init; }

    /// <summary>True when the ETag is the MD5 of the body (single-part upload).</summary>
    public bool IsMultipart => ETag.Contains('-');

    public bool IsCompressed => FileName.EndsWith(".bz2", StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Key;
}
