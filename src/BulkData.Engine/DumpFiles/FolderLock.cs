using System.Diagnostics;
using System.Globalization;

namespace BulkData.Engine.DumpFiles;

/// <summary>Who holds a folder lock (or an import's database lock): process, host and start time.</summary>
internal sealed record LockOwner(int ProcessId, string Host, DateTimeOffset Started, string Command)
{
    /// <summary>The owner of the current process, running <paramref name="command"/>, starting now.</summary>
    public static LockOwner Current(string command)
        // The run's start (when it takes the lock).
        => new(Environment.ProcessId, Environment.MachineName, DateTimeOffset.UtcNow, command);

    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Command} (process {ProcessId} on host {Host}, started {Started.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC)");

    internal string Serialize()
        => string.Create(CultureInfo.InvariantCulture, $"pid={ProcessId}\nhost={Host}\nstarted={Started.UtcDateTime:O}\ncommand={Command}\n");

    internal static LockOwner? Parse(string text)
    {
        var fields = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0])
            .ToDictionary(g => g.Key, g => g.First()[1].Trim());
        if (!fields.TryGetValue("pid", out var pid) || !int.TryParse(pid, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id))
        {
            return null;
        }

        var started = fields.TryGetValue("started", out var s) && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : DateTimeOffset.MinValue;
        return new LockOwner(id, fields.GetValueOrDefault("host") ?? "?", started, fields.GetValueOrDefault("command") ?? "?");
    }
}

/// <summary>
/// The lock of one destination folder, held for a whole Start-BulkFetch, Expand-BulkFile or streamed import with a
/// keep-copy folder, so that two runs never write the same temporary or final files. The lock is an exclusive,
/// non-blocking OS lock on <c>.bulkdata.lock</c> in the folder (flock on Unix, a share-none handle on Windows): the
/// system releases it when the process dies, so a killed run never leaves a lock that blocks the next one. The
/// owner (process, host, start time, command) is written beside it in <c>.bulkdata.lock.owner</c> for the error and
/// the progress of a run that has to wait, and removed when the lock is released; an owner note found by the run
/// that takes the lock is a stale lock of a killed run, reported and replaced. The lock file itself stays (deleting
/// a lock file races with a run that has just opened it).
/// </summary>
internal sealed class FolderLock : IDisposable
{
    /// <summary>The lock file's name (not a temporary file: it stays in the folder).</summary>
    public const string LockFileName = ".bulkdata.lock";

    /// <summary>The note naming the lock's owner while it is held.</summary>
    public const string OwnerFileName = ".bulkdata.lock.owner";

    /// <summary>How long a run that finds the lock held waits for the holder's owner note before saying it does not know the owner.</summary>
    private static readonly TimeSpan OwnerNoteGrace = TimeSpan.FromSeconds(2);

    private readonly FileStream _handle;
    private readonly string _ownerPath;
    private int _released;

    private FolderLock(string folder, FileStream handle, LockOwner owner)
    {
        Folder = folder;
        _handle = handle;
        Owner = owner;
        _ownerPath = Path.Combine(folder, OwnerFileName);
    }

    public string Folder { get; }

    public LockOwner Owner { get; }

    /// <summary>True for the names this lock uses in a folder (never the name of a downloaded file).</summary>
    public static bool IsLockName(string fileName) => fileName is LockFileName or OwnerFileName || fileName.StartsWith(OwnerFileName + ".", StringComparison.Ordinal);

    /// <summary>
    /// Takes the lock of <paramref name="folder"/> (created if missing). When another run holds it: with
    /// <paramref name="noWait"/> fails at once with an <see cref="BulkErrorKind.InUse"/> error naming the owner;
    /// otherwise waits, showing progress, until it is free or <paramref name="ct"/> is cancelled.
    /// </summary>
    public static async Task<FolderLock> AcquireAsync(string folder, string command, bool noWait, IBulkReporter reporter, CancellationToken ct, TimeSpan? pollInterval = null)
    {
        folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(folder);
        string lockPath = Path.Combine(folder, LockFileName);
        var poll = pollInterval ?? TimeSpan.FromMilliseconds(250);
        ProgressReporter? progress = null;
        ProgressReporter.Bar? bar = null;
        var waited = Stopwatch.StartNew();
        string? reportedWho = null;
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var handle = TryOpen(lockPath);
                if (handle is not null)
                {
                    var me = LockOwner.Current(command);
                    var held = new FolderLock(folder, handle, me);
                    var stale = held.ReadOwner();
                    if (stale is not null)
                    {
                        reporter.Verbose($"The lock of '{folder}' was left by a run that no longer runs ({stale}); taken over.");
                    }

                    held.WriteOwner();
                    reporter.Verbose($"Locked '{folder}' for this run{(waited.Elapsed > poll ? $" after waiting {waited.Elapsed.TotalSeconds:0.#} s" : string.Empty)}.");
                    return held;
                }

                var owner = ReadOwnerOf(folder);
                if (owner is null && waited.Elapsed < OwnerNoteGrace)
                {
                    // The holder writes its note just after taking the lock: give it a moment, so that the error or the
                    // message names the owner rather than "someone".
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50, poll.TotalMilliseconds)), ct).ConfigureAwait(false);
                    continue;
                }

                string who = owner?.ToString() ?? "another run (its owner note is not written yet)";
                if (noWait)
                {
                    throw new BulkDataException(BulkErrorKind.InUse, $"The folder '{folder}' is in use by {who}; -NoWait was given, so nothing was done. Wait for that run to end, or run again without -NoWait to wait for it.", folder);
                }

                if (who != reportedWho)
                {
                    // Said again when the owner changes (or its note appears late), so the log names whoever was waited for.
                    reporter.Verbose($"The folder '{folder}' is in use by {who}: waiting for it to finish.");
                    reportedWho = who;
                }

                if (bar is null)
                {
                    progress = new ProgressReporter(reporter);
                    bar = progress.Begin($"Waiting for the lock of '{folder}'");
                }

                bar.Status(string.Create(CultureInfo.InvariantCulture, $"in use by {who}; waited {waited.Elapsed.TotalSeconds:0} s"));
                await Task.Delay(poll, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            progress?.Dispose();
        }
    }

    /// <summary>The owner named in <paramref name="folder"/>'s note, if any (for messages; not proof the lock is held).</summary>
    public static LockOwner? ReadOwnerOf(string folder)
    {
        try
        {
            string path = Path.Combine(folder, OwnerFileName);
            return File.Exists(path) ? LockOwner.Parse(File.ReadAllText(path)) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        // The note goes first, while the lock is still held, so that no run ever sees a live lock without its owner's note
        // removed by someone else, and a new owner's note is never deleted by this one.
        FetchLayout.TryDelete(_ownerPath);
        _handle.Dispose();
    }

    private LockOwner? ReadOwner() => ReadOwnerOf(Folder);

    private void WriteOwner()
    {
        // Written to a name of its own, then renamed over the note: a reader sees the old note or the new one, whole.
        string temp = _ownerPath + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "." + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllText(temp, Owner.Serialize());
        File.Move(temp, _ownerPath, overwrite: true);
    }

    private static FileStream? TryOpen(string lockPath)
    {
        try
        {
            // FileShare.None: an exclusive flock(2) on Unix (released by the kernel when the process dies), a share-none handle on Windows.
            return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException) when (File.Exists(lockPath))
        {
            return null;
        }
    }
}
