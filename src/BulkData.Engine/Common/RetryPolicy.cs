using System.Diagnostics;

namespace BulkData.Engine;

/// <summary>
/// The one retry policy of every request to an object store (listing, HEAD, GET, ranged GET): counts the failed
/// attempts of one request or transfer and chooses the wait before the next. Exponential backoff with jitter for
/// attempts that made no progress; an attempt that made progress resets the counts (and is retried at once, with
/// only a little jitter), so a flaky connection that keeps moving never runs out. A server that asks to slow down
/// (429, 503 SlowDown) is waited for at least its Retry-After, and such answers do not use up the attempt count:
/// they are bounded by a total time budget instead, so a throttling storm shorter than the budget is survived.
/// </summary>
internal sealed class RetryPolicy
{
    /// <summary>The default total time a request keeps being retried while the server asks to slow down.</summary>
    public static readonly TimeSpan DefaultBudget = TimeSpan.FromMinutes(5);

    /// <summary>A Retry-After longer than this is not waited for in one go (the budget still applies).</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(2);

    private readonly int _retryCount;
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _maxDelay;
    private readonly TimeSpan _budget;
    private readonly Random _random;
    private readonly Func<TimeSpan> _clock;
    private TimeSpan? _throttledSince;
    private int _throttled;

    public RetryPolicy(int retryCount, TimeSpan baseDelay, TimeSpan maxDelay, Random? random = null, TimeSpan? budget = null, Func<TimeSpan>? clock = null)
    {
        _retryCount = retryCount;
        _baseDelay = baseDelay;
        _maxDelay = maxDelay < baseDelay ? baseDelay : maxDelay;
        _random = random ?? Random.Shared;
        _budget = budget ?? DefaultBudget;
        if (clock is null)
        {
            var watch = Stopwatch.StartNew();
            clock = () => watch.Elapsed;
        }

        _clock = clock;
    }

    /// <summary>Failed attempts in a row that made no progress (throttled answers not counted).</summary>
    public int FailuresWithoutProgress { get; private set; }

    /// <summary>All failed attempts, progressing or not.</summary>
    public int TotalFailures { get; private set; }

    /// <summary>True when the last give-up was because throttling outlasted the time budget.</summary>
    public bool BudgetSpent { get; private set; }

    /// <summary>The total time budget for throttled answers in a row.</summary>
    public TimeSpan Budget => _budget;

    /// <summary>
    /// Records a failed attempt. Returns the delay before the next attempt, or null when the request has used up its
    /// retries (more than RetryCount attempts in a row without progress, or throttled answers for longer than the budget).
    /// </summary>
    /// <param name="throttled">The server answered 429 or 503 (it asked to slow down).</param>
    /// <param name="retryAfter">The server's Retry-After, if it sent one.</param>
    public TimeSpan? OnFailure(bool madeProgress, bool throttled = false, TimeSpan? retryAfter = null)
    {
        TotalFailures++;
        BudgetSpent = false;
        if (madeProgress)
        {
            FailuresWithoutProgress = 0;
            _throttled = 0;
            _throttledSince = null;
            return TimeSpan.FromMilliseconds(_random.Next(0, 100));
        }

        if (throttled)
        {
            var now = _clock();
            _throttledSince ??= now;
            _throttled++;
            var spent = now - _throttledSince.Value;
            if (spent >= _budget)
            {
                BudgetSpent = true;
                return null;
            }

            var wait = Backoff(_throttled);
            if (retryAfter is { } asked && asked > wait)
            {
                wait = asked < MaxRetryAfter ? asked : MaxRetryAfter;
            }

            // Never past the end of the budget (one last attempt at its end).
            var left = _budget - spent;
            return wait < left ? wait : left;
        }

        FailuresWithoutProgress++;
        if (FailuresWithoutProgress > _retryCount)
        {
            return null;
        }

        return Backoff(FailuresWithoutProgress);
    }

    private TimeSpan Backoff(int n)
    {
        // base * 2^(n-1), capped, then "equal jitter": half fixed, half random.
        double exp = _baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(30, n - 1));
        double capped = Math.Min(exp, _maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped / 2 + _random.NextDouble() * capped / 2);
    }
}
