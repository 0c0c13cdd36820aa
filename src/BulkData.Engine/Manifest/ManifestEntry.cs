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

    /// <summary>
    /// An entry rebuilt from the properties an object carried through Export-Clixml, a job, remoting or
    /// <c>Select-Object</c>: the key (required) gives the file name, dataset, dates and kind; a missing bucket or
    /// region is the public bucket's; a missing ETag (or LastModified) is learnt from the store before a download
    /// (<see cref="HasVersion"/>). Dataset and DumpDate are kept when given (the dump a schema belongs to).
    /// </summary>
    public static ManifestEntry FromProperties(
        string key, long size, string? bucket = null, string? region = null, string? endpointUrl = null,
        string? etag = null, DateTime? lastModified = null, string? dataset = null, DateTime? dumpDate = null, bool isStub = false)
    {
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "The object has an empty Key: a manifest entry needs the object's key.", key);
        }

        if (size < 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The object '{key}' has a negative Size ({size}).", key);
        }

        string fileName = key[(key.LastIndexOf('/') + 1)..];
        var name = DumpFileName.TryParse(fileName);
        DateTime fileDate = name?.Date ?? DateTime.MinValue;
        return new ManifestEntry
        {
            Dataset = string.IsNullOrEmpty(dataset) ? name?.Dataset ?? fileName : dataset,
            DumpDate = dumpDate ?? fileDate,
            FileDate = fileDate,
            Key = key,
            FileName = fileName,
            Size = size,
            ETag = etag?.Trim('"') ?? string.Empty,
            LastModified = lastModified ?? DateTime.MinValue,
            Kind = name?.Kind ?? EntryKind.Other,
            IsStub = isStub,
            Bucket = string.IsNullOrEmpty(bucket) ? Storage.BucketLocation.DefaultBucket : bucket,
            Region = string.IsNullOrEmpty(region) ? Storage.BucketLocation.DefaultRegion : region,
            EndpointUrl = string.IsNullOrEmpty(endpointUrl) ? null : endpointUrl,
        };
    }

    /// <summary>False for an entry rebuilt without its ETag: the download asks the store for it first.</summary>
    public bool HasVersion => !string.IsNullOrEmpty(ETag);

    /// <summary>This entry with the version the store reports (size, ETag, time).</summary>
    internal ManifestEntry WithVersion(long size, string etag, DateTime lastModified) => new()
    {
        Dataset = Dataset, DumpDate = DumpDate, FileDate = FileDate, Key = Key, FileName = FileName, Size = size,
        ETag = etag.Trim('"'), LastModified = lastModified, Kind = Kind, IsStub = IsStub, Bucket = Bucket, Region = Region,
        EndpointUrl = EndpointUrl,
    };
}
