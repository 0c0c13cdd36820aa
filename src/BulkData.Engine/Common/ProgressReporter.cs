using System.Diagnostics;

namespace BulkData.Engine;

/// <summary>
/// The one way engine work shows progress: it owns the Write-Progress activity ids (unique in the process, so
/// that two cmdlets of one pipeline never share a bar) and throttles each bar to one update per interval, however
/// many threads report. The first update of a bar, status changes marked as forced and completion always go out.
/// Disposing completes every bar still open.
/// </summary>
internal sealed class ProgressReporter : IDisposable
{
    private static int s_nextId;

    private readonly IBulkReporter _reporter;
    private readonly long _intervalTicks;
    private readonly List<Bar> _open = new();

    public ProgressReporter(IBulkReporter reporter, TimeSpan? interval = null)
    {
        _reporter = reporter;
        _intervalTicks = (long)((interval ?? TimeSpan.FromMilliseconds(250)).TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Opens a bar (a child of <paramref name="parent"/> when given). Its first update is shown at once.</summary>
    public Bar Begin(string activity, Bar? parent = null)
    {
        var bar = new Bar(this, Interlocked.Increment(ref s_nextId), activity, parent?.Id ?? -1);
        lock (_open)
        {
            _open.Add(bar);
        }

        return bar;
    }

    public void Dispose()
    {
        Bar[] open;
        lock (_open)
        {
            open = _open.ToArray();
        }

        foreach (var bar in Enumerable.Reverse(open))
        {
            bar.Complete();
        }
    }

    private void Closed(Bar bar)
    {
        lock (_open)
        {
            _open.Remove(bar);
        }
    }

    /// <summary>One progress bar. Thread-safe.</summary>
    internal sealed class Bar(ProgressReporter owner, int id, string activity, int parentId) : IDisposable
    {
        private readonly ProgressReporter _owner = owner;
        private readonly int _parentId = parentId;
        private long _lastTicks = long.MinValue;
        private int _completed;

        public int Id { get; } = id;

        public string Activity { get; } = activity;

        /// <summary>True when an update now would be shown (the interval has passed since the last one).</summary>
        public bool Due => Stopwatch.GetTimestamp() - Interlocked.Read(ref _lastTicks) >= _owner._intervalTicks || Interlocked.Read(ref _lastTicks) == long.MinValue;

        /// <summary>Shows <paramref name="status"/> unless the bar was updated within the interval (or <paramref name="force"/>).</summary>
        public void Status(string status, int percentComplete = -1, int secondsRemaining = -1, string? currentOperation = null, bool force = false)
        {
            if (Volatile.Read(ref _completed) != 0 || !Claim(force))
            {
                return;
            }

            _owner._reporter.Progress(new ProgressUpdate(Id, Activity, status, percentComplete, secondsRemaining, _parentId, currentOperation));
        }

        /// <summary>Shows the state <paramref name="state"/> builds, building it only when an update is due.</summary>
        public void Report(Func<(string Status, int Percent, int SecondsRemaining)> state, string? currentOperation = null)
        {
            if (Volatile.Read(ref _completed) != 0 || !Claim(false))
            {
                return;
            }

            var (status, percent, seconds) = state();
            _owner._reporter.Progress(new ProgressUpdate(Id, Activity, status, percent, seconds, _parentId, currentOperation));
        }

        /// <summary>Marks the bar done (once; later updates are dropped).</summary>
        public void Complete()
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            _owner.Closed(this);
            _owner._reporter.Progress(new ProgressUpdate(Id, Activity, "Done", 100, ParentActivityId: _parentId, Completed: true));
        }

        public void Dispose() => Complete();

        private bool Claim(bool force)
        {
            long now = Stopwatch.GetTimestamp();
            long last = Interlocked.Read(ref _lastTicks);
            if (!force && last != long.MinValue && now - last < _owner._intervalTicks)
            {
                return false;
            }

            return Interlocked.CompareExchange(ref _lastTicks, now, last) == last || force;
        }
    }
}
