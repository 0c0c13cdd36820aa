using BulkData.Engine.Storage;

namespace BulkData.Engine.Transfer;

/// <summary>How Start-BulkFetch runs a plan.</summary>
public sealed record FetchOptions
{
    /// <summary>The default of <see cref="MinimumFreeSpace"/> (Start-BulkFetch's and Invoke-BulkImport -KeepDownload's -MinimumFreeSpace): 256 MiB.</summary>
    public const long DefaultMinimumFreeSpace = 256L * 1024 * 1024;

    /// <summary>The default of <see cref="LowSpaceTimeout"/> (-LowSpaceTimeout): 30 minutes.</summary>
    public static readonly TimeSpan DefaultLowSpaceTimeout = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The one check of the transfer parameters users give (Start-BulkFetch's, and Invoke-BulkImport's for its
    /// streamed reads and the copy -KeepDownload writes): the message names the parameter.
    /// </summary>
    public static void CheckParameters(long minimumFreeSpace, TimeSpan lowSpaceTimeout, TimeSpan stallTimeout)
    {
        if (minimumFreeSpace < 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "-MinimumFreeSpace cannot be negative.");
        }

        if (lowSpaceTimeout < TimeSpan.Zero)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "-LowSpaceTimeout cannot be negative.");
        }

        if (stallTimeout <= TimeSpan.Zero)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "-StallTimeout must be positive.");
        }
    }

    /// <summary>The folder the files go to (created if missing).</summary>
    public required string Destination { get; init; }

    /// <summary>Transfers running at once.</summary>
    public int ThrottleLimit { get; init; } = 4;

    /// <summary>Expand .bz2 files after download, largest first, by their own queue.</summary>
    public bool Extract { get; init; }

    /// <summary>Keep the .bz2 file after a verified extraction.</summary>
    public bool KeepCompressed { get; init; }

    /// <summary>Fetch (and extract) again even when the file is already complete.</summary>
    public bool Force { get; init; }

    /// <summary>Consecutive attempts without progress allowed per transfer before it fails.</summary>
    public int RetryCount { get; init; } = 5;

    /// <summary>First backoff delay; doubles with each failed attempt that made no progress (plus jitter).</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a transfer keeps retrying while the server asks to slow down (429, 503 SlowDown), Retry-After honoured.</summary>
    public TimeSpan RetryBudget { get; init; } = RetryPolicy.DefaultBudget;

    /// <summary>Largest backoff delay.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Writes pause while the destination's file system has less than this free.</summary>
    public long MinimumFreeSpace { get; init; } = DefaultMinimumFreeSpace;

    /// <summary>How long writes may stay paused for lack of space before the run fails.</summary>
    public TimeSpan LowSpaceTimeout { get; init; } = DefaultLowSpaceTimeout;

    /// <summary>How often free space is measured while paused.</summary>
    public TimeSpan SpacePollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Expanded over compressed size, for the up-front plan check with <see cref="Extract"/>.</summary>
    public double ExpansionRatio { get; init; } = DiskSpace.DefaultExpansionRatio;

    public S3Credentials? Credentials { get; init; }

    /// <summary>Fail at once, naming the owner, when another run holds the destination's lock (instead of waiting for it).</summary>
    public bool NoWait { get; init; }

    /// <summary>Read every object from this store instead of the S3 bucket each entry names (tests, local mirrors). Not disposed by the fetch.</summary>
    internal IObjectStore? Store { get; init; }

    /// <summary>A transfer that receives nothing for this long is cut off and retried.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromMinutes(2);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Destination))
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "A destination folder is required.");
        }

        if (ThrottleLimit < 1 || RetryCount < 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "ThrottleLimit must be at least 1 and RetryCount cannot be negative.");
        }

        CheckParameters(MinimumFreeSpace, LowSpaceTimeout, StallTimeout);
    }
}
