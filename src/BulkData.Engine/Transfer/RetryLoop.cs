using System.Net;
using System.Net.Sockets;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Transfer;

/// <summary>
/// Runs the attempts of one transfer until one completes: an attempt that fails for a transient reason is retried
/// after the <see cref="RetryPolicy"/>'s backoff (an attempt that made progress does not count); a pause for low
/// or no disk space waits for room without counting; cancellation and the errors the store names end the loop.
/// </summary>
internal sealed class RetryLoop
{
    private readonly FetchOptions _options;
    private readonly DiskGuard _guard;
    private readonly IBulkReporter _reporter;
    private readonly FetchProgress.Bar? _bar;
    private readonly string _name;
    private readonly string _target;

    public RetryLoop(FetchOptions options, DiskGuard guard, IBulkReporter reporter, FetchProgress.Bar? bar, string name, string target)
    {
        _options = options;
        _guard = guard;
        _reporter = reporter;
        _bar = bar;
        _name = name;
        _target = target;
        Policy = new RetryPolicy(options.RetryCount, options.RetryBaseDelay, options.RetryMaxDelay, budget: options.RetryBudget);
    }

    public RetryPolicy Policy { get; }

    /// <summary>The bytes go straight to a reader (a streamed import), not into a partial file: messages say so.</summary>
    public bool Streaming { get; init; }

    private string Kept(long confirmed, long size, string partialPath) => Streaming
        ? $"{confirmed:N0} of {size:N0} bytes streamed"
        : $"{confirmed:N0} of {size:N0} bytes kept in '{partialPath}' for a resume";

    /// <param name="attempt">One attempt; it ends normally only when the transfer is complete.</param>
    /// <param name="position">The bytes confirmed so far (progress is judged by it).</param>
    /// <param name="partialPath">The file the confirmed bytes are in (named when giving up).</param>
    public async Task RunAsync(Func<CancellationToken, Task> attempt, Func<long> position, long size, string partialPath, CancellationToken ct)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (_guard.ShouldPause())
            {
                await PauseAsync("paused: low disk space", afterNoSpace: false, ct).ConfigureAwait(false);
            }

            long before = position();
            try
            {
                await attempt(ct).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                _reporter.Verbose(Streaming
                    ? $"{_name}: stopped at byte {position():N0} of {size:N0} (the reader is done with it)."
                    : $"{_name}: cancelled at byte {position():N0} of {size:N0}; the partial file is kept for a resume.");
                throw;
            }
            catch (LowSpacePause)
            {
                _reporter.Verbose($"{_name}: paused at byte {position():N0} of {size:N0} (low disk space).");
                await PauseAsync("paused: low disk space", afterNoSpace: false, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (DiskGuard.IsNoSpace(ex))
            {
                long confirmed = position();
                long lost = TrueLength(partialPath) is long len && len < confirmed ? confirmed - len : 0;
                _reporter.Verbose($"{_name}: a write failed for lack of space at byte {confirmed:N0}; pausing.");
                await PauseAsync("paused: disk full", afterNoSpace: true, ct).ConfigureAwait(false);
                if (lost > 0)
                {
                    // Should not happen (the partial was cut back to the confirmed bytes), but never trust a short file.
                    throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{_name}: the partial file lost {lost:N0} bytes.", _target);
                }
            }
            catch (BulkDataException)
            {
                throw;
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                long confirmed = position();
                var throttled = Throttled(ex);
                var delay = Policy.OnFailure(confirmed > before, throttled is not null, throttled?.RetryAfter);
                if (delay is null && Policy.BudgetSpent)
                {
                    throw new BulkDataException(
                        BulkErrorKind.EndpointUnreachable,
                        $"{_target}: gave up after the server asked to slow down for longer than the retry budget of {Policy.Budget.TotalSeconds:0} s ({Kept(confirmed, size, partialPath)}): {Describe(ex)}",
                        _target,
                        ex);
                }

                if (delay is null)
                {
                    throw new BulkDataException(
                        BulkErrorKind.EndpointUnreachable,
                        $"{_target}: gave up after {_options.RetryCount + 1} attempts in a row without progress ({Kept(confirmed, size, partialPath)}): {Describe(ex)}",
                        _target,
                        ex);
                }

                _reporter.Verbose($"{_name}: attempt failed at byte {confirmed:N0} of {size:N0} ({Describe(ex)}); {(confirmed > before ? "it made progress, so it does not count" : throttled is not null ? "the server asked to slow down, which counts against the time budget, not -RetryCount" : $"{Policy.FailuresWithoutProgress} of {_options.RetryCount} retries used")}; retrying in {delay.Value.TotalSeconds:0.##} s.");
                if (_bar is not null)
                {
                    _bar.Status = $"retrying in {delay.Value.TotalSeconds:0.#} s";
                }

                await Task.Delay(delay.Value, ct).ConfigureAwait(false);
                if (_bar is not null)
                {
                    _bar.Status = null;
                }
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new BulkDataException(BulkErrorKind.AccessDenied, $"Cannot write '{partialPath}': {ex.Message}", partialPath, ex);
            }
            catch (Exception ex)
            {
                throw new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Fetching {_target} failed: {ex.Message}", _target, ex);
            }
        }
    }

    private static ThrottledException? Throttled(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is ThrottledException t)
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>Network and I/O failures worth another attempt.</summary>
    internal static bool IsTransient(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is IOException or HttpRequestException or SocketException or TimeoutException or OperationCanceledException or WebException)
            {
                return true;
            }
        }

        return false;
    }

    private async Task PauseAsync(string status, bool afterNoSpace, CancellationToken ct)
    {
        if (_bar is not null)
        {
            _bar.Status = status;
        }

        await _guard.WaitForRoomAsync(afterNoSpace, ct).ConfigureAwait(false);
        if (_bar is not null)
        {
            _bar.Status = null;
        }

    }

    private static string Describe(Exception ex)
    {
        var e = ex;
        while (e.InnerException is not null && e is HttpRequestException)
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    private static long? TrueLength(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
