using BulkData.Engine.DumpFiles;
using BulkData.Engine.Tests.Transfer;
using Xunit;

namespace BulkData.Engine.Tests.DumpFiles;

/// <summary>The destination folder's lock: a real OS lock (flock) on a real file; two holders in one process conflict as two processes do.</summary>
public sealed class FolderLockTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "bulkdata-lock-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static TransferRulesTests.ListReporter Reporter(List<string> verbose) => new(new List<string>(), verbose);

    [Fact]
    public async Task A_held_lock_refuses_a_second_run_with_NoWait_naming_its_owner()
    {
        using var first = await FolderLock.AcquireAsync(_dir, "Start-BulkFetch", noWait: true, Reporter(new()), CancellationToken.None);
        var ex = await Assert.ThrowsAsync<BulkDataException>(() => FolderLock.AcquireAsync(_dir, "Expand-BulkFile", noWait: true, Reporter(new()), CancellationToken.None));
        Assert.Equal(BulkErrorKind.InUse, ex.Kind);
        Assert.Equal(Path.GetFullPath(_dir), ex.Target);
        Assert.Contains($"in use by Start-BulkFetch (process {Environment.ProcessId} on host {Environment.MachineName}, started ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("-NoWait", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_run_waits_with_progress_until_the_first_releases_the_lock()
    {
        var first = await FolderLock.AcquireAsync(_dir, "Start-BulkFetch", noWait: false, Reporter(new()), CancellationToken.None);
        var verbose = new List<string>();
        var progress = new List<ProgressUpdate>();
        var reporter = new RecordingReporter(verbose, progress);
        var second = FolderLock.AcquireAsync(_dir, "Start-BulkFetch", noWait: false, reporter, CancellationToken.None, TimeSpan.FromMilliseconds(20));
        await Task.Delay(300);
        Assert.False(second.IsCompleted);
        first.Dispose();
        using var held = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(verbose, v => v.Contains("is in use by Start-BulkFetch (process", StringComparison.Ordinal) && v.Contains("waiting", StringComparison.Ordinal));
        lock (progress)
        {
            Assert.Contains(progress, p => p.Activity.StartsWith("Waiting for the lock of", StringComparison.Ordinal) && p.Status.Contains("in use by Start-BulkFetch", StringComparison.Ordinal));
            Assert.Contains(progress, p => p.Completed);
        }

        Assert.Equal(Environment.ProcessId, FolderLock.ReadOwnerOf(_dir)!.ProcessId);
    }

    [Fact]
    public async Task A_run_that_finds_the_lock_before_its_owner_note_names_the_owner_once_the_note_is_written()
    {
        // The window between the holder's lock and its note, held open: the note is taken away, then put back 300 ms later.
        using var first = await FolderLock.AcquireAsync(_dir, "Start-BulkFetch", noWait: false, Reporter(new()), CancellationToken.None);
        string note = Path.Combine(_dir, FolderLock.OwnerFileName);
        string text = await File.ReadAllTextAsync(note);
        File.Delete(note);
        var verbose = new List<string>();
        var refused = Assert.ThrowsAsync<BulkDataException>(() => FolderLock.AcquireAsync(_dir, "Expand-BulkFile", noWait: true, Reporter(new()), CancellationToken.None));
        var waiting = FolderLock.AcquireAsync(_dir, "Start-BulkFetch", noWait: false, new RecordingReporter(verbose, new()), CancellationToken.None, TimeSpan.FromMilliseconds(20));
        await Task.Delay(300);
        await File.WriteAllTextAsync(note, text);
        var ex = await refused;
        Assert.Contains($"in use by Start-BulkFetch (process {Environment.ProcessId} on host ", ex.Message, StringComparison.Ordinal);
        await Task.Delay(200);
        first.Dispose();
        using var held = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        lock (verbose)
        {
            Assert.Contains(verbose, v => v.Contains($"is in use by Start-BulkFetch (process {Environment.ProcessId} on host ", StringComparison.Ordinal) && v.Contains("waiting", StringComparison.Ordinal));
            Assert.DoesNotContain(verbose, v => v.Contains("not written yet", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_stale_owner_note_of_a_killed_run_is_taken_over_and_the_note_goes_with_the_lock()
    {
        Directory.CreateDirectory(_dir);
        await File.WriteAllTextAsync(Path.Combine(_dir, FolderLock.OwnerFileName), "pid=999999\nhost=gone\nstarted=2026-01-01T00:00:00.0000000Z\ncommand=Start-BulkFetch\n");
        await File.WriteAllTextAsync(Path.Combine(_dir, FolderLock.LockFileName), string.Empty);
        var verbose = new List<string>();
        using (var held = await FolderLock.AcquireAsync(_dir, "Start-BulkFetch", noWait: true, Reporter(verbose), CancellationToken.None))
        {
            Assert.Contains(verbose, v => v.Contains("left by a run that no longer runs (Start-BulkFetch (process 999999 on host gone, started 2026-01-01 00:00:00 UTC))", StringComparison.Ordinal));
            Assert.Equal(Environment.ProcessId, FolderLock.ReadOwnerOf(_dir)!.ProcessId);
        }

        Assert.False(File.Exists(Path.Combine(_dir, FolderLock.OwnerFileName)));
        Assert.True(File.Exists(Path.Combine(_dir, FolderLock.LockFileName)), "the lock file itself stays (deleting it would race with a run that just opened it)");
        using var again = await FolderLock.AcquireAsync(_dir, "Start-BulkFetch", noWait: true, Reporter(new()), CancellationToken.None);
    }

    [Fact]
    public async Task Waiting_ends_at_once_on_cancellation()
    {
        using var first = await FolderLock.AcquireAsync(_dir, "Start-BulkFetch", noWait: false, Reporter(new()), CancellationToken.None);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => FolderLock.AcquireAsync(_dir, "Start-BulkFetch", noWait: false, Reporter(new()), cts.Token));
    }

    private sealed class RecordingReporter(List<string> verbose, List<ProgressUpdate> progress) : IBulkReporter
    {
        public void Verbose(string message)
        {
            lock (verbose)
            {
                verbose.Add(message);
            }
        }

        public void Warning(string message)
        {
        }

        public void Progress(ProgressUpdate update)
        {
            lock (progress)
            {
                progress.Add(update);
            }
        }
    }
}
