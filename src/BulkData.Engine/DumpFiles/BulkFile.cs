namespace BulkData.Engine.DumpFiles;

/// <summary>Where a file of the dump stands after fetching or expanding.</summary>
public enum BulkFileState
{
    Downloaded,
    Extracted,
    Skipped,
    Failed,
}

/// <summary>How a file was checked before it was given its final name.</summary>
public enum VerificationMethod
{
    None,
    Size,
    SizeAndMD5,
    SizeAndChecksum,
    Bzip2Crc,
    AlreadyPresent,
}

/// <summary>A file of the dump on local disk: the output of Start-BulkFetch and Expand-BulkFile.</summary>
public sealed class BulkFile
{
    public required string Path { get; init; }

    public required string Dataset { get; init; }

    public long Size { get; init; }

    public BulkFileState State { get; init; }

    public VerificationMethod Verification { get; init; }

    public TimeSpan Duration { get; init; }

    /// <summary>The object key it came from, when it came from a bucket.</summary>
    public string? Key { get; init; }

    /// <summary>The listed ETag, used by Invoke-BulkImport's journal to recognise the same file.</summary>
    public string? ETag { get; init; }

    public Manifest.EntryKind Kind { get; init; }

    public DateTime? DumpDate { get; init; }

    /// <summary>Why the file failed, when <see cref="State"/> is Failed.</summary>
    public string? Error { get; init; }

    public override string ToString() => Path;
}
