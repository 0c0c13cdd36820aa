using System.Diagnostics;

namespace BulkData.Engine.Transfer;

/// <summary>
/// Watches the free space of the destination's file system while a run writes to it. Under the minimum,
/// writers wait (a pause shared by all of them) until space returns; after the timeout the run fails.
/// </summary>
internal sealed class DiskGuard
{
    /// <summary>After a write failed for lack of space, at least this much must be free before writing again.</summary>
    internal const long NoSpaceHeadroom = 4L * 1024 * 1024;

    private readonly string _path;
    private readonly long _minimum;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _poll;
    private readonly IBulkReporter _reporter;
    private readonly object _gate = new();
    private readonly Stopwatch _sinceCheck = Stopwatch.StartNew();
    private long _pauseStartedTicks = -1;
    private long _pausedTotalTicks;
    private long _lastAvailable = long.MaxValue;

    /// <summary>What the failure after the timeout says is left (Start-BulkFetch's partial files; a streamed import's kept copy).</summary>
    public const string FetchLeft = "Resumable partial files were kept; free some space and run again.";

    private readonly string _left;

    public DiskGuard(string path, long minimumFreeBytes, TimeSpan timeout, TimeSpan pollInterval, IBulkReporter reporter, string left = FetchLeft)
    {
        _left = left;
        _path = path;
        _minimum = minimumFreeBytes;
        _timeout = timeout;
        _poll = pollInterval <= TimeSpan.Zero ? TimeSpan.FromSeconds(1) : pollInterval;
        _reporter = reporter;
        _sinceCheck.Restart();
    }

    /// <summary>Times the run was paused for space.</summary>
    public int Pauses { get; private set; }

    public bool IsPaused => Interlocked.Read(ref _pauseStartedTicks) >= 0;

    public TimeSpan PausedTotal => TimeSpan.FromTicks(Interlocked.Read(ref _pausedTotalTicks));

    /// <summary>
    /// A cheap check for the write loop: measures at most every 100 ms; true when the writer should stop and call
    /// <see cref="WaitForRoomAsync"/> (space is under the minimum, or another writer has paused the run).
    /// </summary>
    public bool ShouldPause()
    {
        if (IsPaused)
        {
            return true;
        }

        if (_minimum <= 0)
        {
            return false;
        }

        lock (_gate)
        {
            if (_sinceCheck.ElapsedMilliseconds < 100 && _lastAvailable != long.MaxValue)
            {
                return _lastAvailable < _minimum;
            }

            _sinceCheck.Restart();
            _lastAvailable = DiskSpace.AvailableBytes(_path);
            return _lastAvailable < _minimum;
        }
    }

    /// <summary>Returns when there is room to write (at least the minimum, or more after a write failed for lack of space).</summary>
    public async Task WaitForRoomAsync(bool afterNoSpaceError, CancellationToken ct)
    {
        long needed = afterNoSpaceError ? Math.Max(_minimum, NoSpaceHeadroom) : _minimum;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            long available = DiskSpace.AvailableBytes(_path);
            lock (_gate)
            {
                _lastAvailable = available;
                _sinceCheck.Restart();
                if (available >= needed && available >= _minimum)
                {
                    long started = _pauseStartedTicks;
                    if (started >= 0)
                    {
                        _pauseStartedTicks = -1;
                        long paused = Stopwatch.GetTimestamp() - started;
                        _pausedTotalTicks += (long)(paused * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency);
                        _reporter.Warning($"Free space on '{_path}' is back to {ByteSize.Format(available)}: writes resume after a pause of {Format(Stopwatch.GetElapsedTime(started))}.");
                    }

                    return;
                }

                if (_pauseStartedTicks < 0)
                {
                    _pauseStartedTicks = Stopwatch.GetTimestamp();
                    Pauses++;
                    string why = afterNoSpaceError ? "a write failed for lack of space" : $"free space is under -MinimumFreeSpace {ByteSize.Format(_minimum)}";
                    _reporter.Warning($"Writes to '{_path}' are paused: {why} ({ByteSize.Format(available)} free). They resume when space returns, or the run fails after {Format(_timeout)}.");
                }
                else if (Stopwatch.GetElapsedTime(_pauseStartedTicks) >= _timeout)
                {
                    throw new BulkDataException(
                        BulkErrorKind.InsufficientSpace,
                        $"Writes to '{_path}' stayed paused for lack of space for {Format(_timeout)} (-LowSpaceTimeout): {FreeAndNeeded(available, needed)}. {_left}",
                        _path);
                }
            }

            await Task.Delay(_poll, ct).ConfigureAwait(false);
        }
    }

    /// <summary>True when <paramref name="ex"/> is a write that failed because the disk is full.</summary>
    public static bool IsNoSpace(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is IOException io)
            {
                // Unix: the errno (ENOSPC 28, EDQUOT 122); Windows: ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL.
                int code = io.HResult;
                if (code is 28 or 122 || (code & 0xFFFF) is 0x70 or 0x27 && (code & unchecked((int)0xFFFF0000)) == unchecked((int)0x80070000))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Free and needed space, in bytes as well when the rounded sizes read the same ("4.0 MiB free, 4.0 MiB needed").</summary>
    internal static string FreeAndNeeded(long available, long needed)
        => ByteSize.Format(available) == ByteSize.Format(needed)
            ? $"{available:N0} bytes free, {needed:N0} needed"
            : $"{ByteSize.Format(available)} free, {ByteSize.Format(needed)} needed";

    private static string Format(TimeSpan t) => t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0.#} min" : $"{t.TotalSeconds:0.#} s";
}
