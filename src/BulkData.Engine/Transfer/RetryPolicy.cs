namespace BulkData.Engine.Transfer;

/// <summary>
/// Counts failed attempts of one transfer and chooses the wait before the next: exponential backoff with
/// jitter for attempts that made no progress; an attempt that made progress resets the count (and is
/// retried at once, with only a little jitter), so a flaky connection that keeps moving never runs out.
/// </summary>
internal sealed class RetryPolicy
{
    private readonly int _retryCount;
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _maxDelay;
    private readonly Random _random;

    public RetryPolicy(int retryCount, TimeSpan baseDelay, TimeSpan maxDelay, Random? random = null)
    {
        _retryCount = retryCount;
        _baseDelay = baseDelay;
        _maxDelay = maxDelay < baseDelay ? baseDelay : maxDelay;
        _random = random ?? Random.Shared;
    }

    /// <summary>Failed attempts in a row that made no progress.</summary>
    public int FailuresWithoutProgress { get; private set; }

    /// <summary>All failed attempts, progressing or not.</summary>
    public int TotalFailures { get; private set; }

    /// <summary>
    /// Records a failed attempt. Returns the delay before the next attempt, or null when the transfer
    /// has used up its retries (more than RetryCount attempts in a row without progress).
    /// </summary>
    public TimeSpan? OnFailure(bool madeProgress)
    {
        TotalFailures++;
        if (madeProgress)
        {
            FailuresWithoutProgress = 0;
            return TimeSpan.FromMilliseconds(_random.Next(0, 100));
        }

        FailuresWithoutProgress++;
        if (FailuresWithoutProgress > _retryCount)
        {
            return null;
        }

        // base * 2^(n-1), capped, then "equal jitter": half fixed, half random.
        double exp = _baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(30, FailuresWithoutProgress - 1));
        double capped = Math.Min(exp, _maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped / 2 + _random.NextDouble() * capped / 2);
    }
}
