namespace BulkData.Engine.Import.Tables;

/// <summary>
/// Where a table's bytes come from (a local file, or an object in the bucket read as it streams): the one place
/// <see cref="TableLoader"/> and <see cref="DriftPreflight"/> open them. The stream gives the file's bytes as
/// stored (compressed for a .bz2); a source that verifies them (an object's MD5 or checksum) throws from a read
/// before it reports the end, so a table loaded from it rolls back.
/// </summary>
internal abstract class TableBytes
{
    /// <summary>How errors name the bytes: a path, or <c>s3://bucket/key</c>.</summary>
    public abstract string Name { get; }

    /// <summary>True for a file on local disk (no network, no local space needed for a remote one).</summary>
    public abstract bool IsLocal { get; }

    /// <summary>Opens the bytes from the start. <paramref name="wholeRead"/> is false for a short look (the header).</summary>
    public abstract Stream Open(IBulkReporter reporter, bool wholeRead);

    /// <summary>
    /// Opens the first bytes for the header check. A source read over the network keeps them and the open request for
    /// the load's next <see cref="Open"/> (one request per object); a file just opens again.
    /// </summary>
    public virtual Stream OpenHead(IBulkReporter reporter) => Open(reporter, wholeRead: false);

    /// <summary>Bytes received over the network by a stream this opened; null for a local file.</summary>
    public virtual long? ReceivedBytes(Stream opened) => null;

    /// <summary>The failure a stream this opened ended with (its read's exception), or null.</summary>
    public virtual Exception? FailureOf(Stream opened) => null;

    /// <summary>The bytes of a job: its own source, or the local file at its path.</summary>
    public static TableBytes Of(TableJob job) => job.Input ?? new FileBytes(job.FilePath);
}

/// <summary>A dump file on local disk.</summary>
internal sealed class FileBytes(string path) : TableBytes
{
    public override string Name => path;

    public override bool IsLocal => true;

    public override Stream Open(IBulkReporter reporter, bool wholeRead)
        => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, wholeRead ? FileOptions.SequentialScan : FileOptions.None);
}
