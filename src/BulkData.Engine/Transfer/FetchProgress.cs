using System.Collections.Concurrent;
using System.Diagnostics;

namespace BulkData.Engine.Transfer;

/// <summary>
/// The progress of a fetch: an overall bar (bytes, rate, time left) and a child bar per active transfer,
/// reported at most twice a second from a timer, whatever the number of writers. The bars and their ids are the
/// <see cref="ProgressReporter"/>'s.
/// </summary>
internal sealed class FetchProgress : IAsyncDisposable
{
    private readonly ProgressReporter _progress;
    private readonly ProgressReporter.Bar _overall;
    private readonly long _totalBytes;
    private readonly int _fileCount;
    private readonly ConcurrentDictionary<Bar, bool> _bars = new(ReferenceEqualityComparer.Instance);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _doneBytes;
    private long _downloadedBytes;
    private int _filesDone;

    public FetchProgress(IBulkReporter reporter, long totalBytes, int fileCount)
    {
        _progress = new ProgressReporter(reporter);
        _overall = _progress.Begin("Fetching");
        _totalBytes = totalBytes;
        _fileCount = fileCount;
        _loop = Task.Run(LoopAsync);
    }

    public long DownloadedBytes => Interlocked.Read(ref _downloadedBytes);

    /// <summary>Starts a child bar; bytes already on disk count as done but not towards the rate.</summary>
    public Bar Begin(string activity, long size, long alreadyDone, bool overall = true)
    {
        var bar = new Bar(this, _progress.Begin(activity, _overall), activity, size, overall);
        bar.Add(alreadyDone, counted: false);
        _bars[bar] = true;
        return bar;
    }

    public void FileDone() => Interlocked.Increment(ref _filesDone);

    private void End(Bar bar)
    {
        if (_bars.TryRemove(bar, out _))
        {
            bar.Handle.Complete();
        }
    }

    private async Task LoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(500, _stop.Token).ConfigureAwait(false);
                Report();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Report()
    {
        long done = Interlocked.Read(ref _doneBytes);
        long downloaded = Interlocked.Read(ref _downloadedBytes);
        double seconds = Math.Max(0.001, _clock.Elapsed.TotalSeconds);
        double rate = downloaded / seconds;
        long remaining = Math.Max(0, _totalBytes - done);
        int eta = rate > 1 ? (int)Math.Min(int.MaxValue, remaining / rate) : -1;
        int percent = _totalBytes > 0 ? (int)Math.Min(100, done * 100 / _totalBytes) : 0;
        _overall.Status(
            $"{ByteSize.Format(done)} of {ByteSize.Format(_totalBytes)} at {ByteSize.Format((long)rate)}/s, {Volatile.Read(ref _filesDone)} of {_fileCount} files done",
            percent,
            eta,
            force: true);
        foreach (var bar in _bars.Keys)
        {
            long b = bar.Done;
            double barRate = b / Math.Max(0.001, bar.Clock.Elapsed.TotalSeconds);
            bar.Handle.Status(
                bar.Status ?? $"{ByteSize.Format(b)} of {ByteSize.Format(bar.Size)}",
                bar.Size > 0 ? (int)Math.Min(100, b * 100 / bar.Size) : 0,
                barRate > 1 && bar.Status is null ? (int)Math.Min(int.MaxValue, (bar.Size - b) / barRate) : -1,
                force: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        foreach (var bar in _bars.Keys)
        {
            End(bar);
        }

        _progress.Dispose();
        _stop.Dispose();
    }

    /// <summary>A child bar: one transfer (or extraction).</summary>
    internal sealed class Bar : IDisposable
    {
        private readonly FetchProgress _owner;
        private long _done;

        private readonly bool _overall;

        public Bar(FetchProgress owner, ProgressReporter.Bar handle, string activity, long size, bool overall)
        {
            _owner = owner;
            _overall = overall;
            Handle = handle;
            Activity = activity;
            Size = size;
        }

        public ProgressReporter.Bar Handle { get; }

        public string Activity { get; }

        public long Size { get; }

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public long Done => Interlocked.Read(ref _done);

        /// <summary>A status shown instead of the byte count (waiting, paused, verifying).</summary>
        public string? Status { get; set; }

        /// <summary>Sets the bytes done (for work whose progress comes as a position).</summary>
        public void SetDone(long position) => Add(position - Done, counted: true);

        /// <summary>Adds bytes; <paramref name="counted"/> ones were downloaded now (they count towards the rate).</summary>
        public void Add(long bytes, bool counted = true)
        {
            Interlocked.Add(ref _done, bytes);
            if (!_overall)
            {
                return;
            }

            Interlocked.Add(ref _owner._doneBytes, bytes);
            if (counted)
            {
                Interlocked.Add(ref _owner._downloadedBytes, bytes);
            }
        }

        /// <summary>Takes back bytes that were lost (a partial cut back after a failed write).</summary>
        public void Remove(long bytes)
        {
            Interlocked.Add(ref _done, -bytes);
            if (_overall)
            {
                Interlocked.Add(ref _owner._doneBytes, -bytes);
            }
        }

        public void Dispose() => _owner.End(this);
    }
}
