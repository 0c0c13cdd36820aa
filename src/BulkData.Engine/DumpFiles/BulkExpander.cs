using BulkData.Engine.Compression;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using BulkData.Engine.Manifest;

namespace BulkData.Engine.DumpFiles;

/// <summary>One file for Expand-BulkFile: where it is, where its expanded form goes, and what it came as.</summary>
public sealed record ExpandItem(string SourcePath, string DestinationPath, long CompressedSize, BulkFile? Origin);

/// <summary>The rules of Expand-BulkFile: which files, where they go, in what order, how many at once.</summary>
public static class BulkExpander
{
    /// <summary>True when a file name is a bzip2 file this command expands.</summary>
    public static bool IsCompressed(string path) => FetchLayout.IsCompressed(path);

    /// <summary>
    /// The plan for a set of .bz2 files: each goes next to its source, or into <paramref name="destinationFolder"/>,
    /// under its name without .bz2; largest first. The same source given twice is expanded once.
    /// </summary>
    public static IReadOnlyList<ExpandItem> Plan(IEnumerable<(string Path, BulkFile? Origin)> inputs, string? destinationFolder)
    {
        var items = new List<ExpandItem>();
        var seen = new HashSet<string>(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        foreach (var (path, origin) in inputs)
        {
            string source = Path.GetFullPath(path);
            if (!seen.Add(source))
            {
                continue;
            }

            string name = FetchLayout.ExpandedName(Path.GetFileName(source));
            string destination = destinationFolder is null
                ? Path.Combine(Path.GetDirectoryName(source)!, name)
                : FetchLayout.ResolveInside(destinationFolder, name);
            long size = File.Exists(source) ? new FileInfo(source).Length : 0;
            items.Add(new ExpandItem(source, destination, size, origin));
        }

        return items.OrderByDescending(i => i.CompressedSize).ThenBy(i => i.SourcePath, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Expands the planned files, <paramref name="throttleLimit"/> at once (each already decodes on all cores),
    /// reporting progress by compressed bytes. Each file's outcome goes to <paramref name="completed"/> as soon
    /// as it is known (with the error for a failed file); a failed file does not stop the others.
    /// </summary>
    public static async Task RunAsync(IReadOnlyList<ExpandItem> items, ExpandOptions options, int throttleLimit, IBulkReporter reporter, OutcomeCallback<BulkFile> completed, CancellationToken ct)
    {
        if (throttleLimit < 1)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "ThrottleLimit must be at least 1.");
        }

        if (items.Count == 0)
        {
            return;
        }

        // Each destination folder's lock, for the whole run (in one order, so two runs never wait on each other in a circle).
        var locks = new List<FolderLock>();
        try
        {
            foreach (string folder in items.Select(i => Path.GetDirectoryName(i.DestinationPath)!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                locks.Add(await FolderLock.AcquireAsync(folder, "Expand-BulkFile", options.NoWait, reporter, ct).ConfigureAwait(false));
            }

            await RunLockedAsync(items, options, throttleLimit, reporter, completed, ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var held in Enumerable.Reverse(locks))
            {
                held.Dispose();
            }
        }
    }

    private static async Task RunLockedAsync(IReadOnlyList<ExpandItem> items, ExpandOptions options, int throttleLimit, IBulkReporter reporter, OutcomeCallback<BulkFile> completed, CancellationToken ct)
    {
        completed = BoundedRunner.Serialized(completed);
        long total = items.Sum(i => i.CompressedSize);
        long finished = 0;
        var inFlight = new ConcurrentDictionary<ExpandItem, long>(ReferenceEqualityComparer.Instance);
        var clock = Stopwatch.StartNew();
        string activity = string.Create(CultureInfo.InvariantCulture, $"Expanding {items.Count} file{(items.Count == 1 ? string.Empty : "s")} ({ByteSize.Format(total)} compressed)");
        using var progress = new ProgressReporter(reporter);
        var overall = progress.Begin(activity);
        (string, int, int) Overall()
        {
            long done = Interlocked.Read(ref finished) + inFlight.Values.Sum();
            double seconds = clock.Elapsed.TotalSeconds;
            int remaining = done > 0 && seconds > 1 ? (int)Math.Min(int.MaxValue, (total - done) * seconds / done) : -1;
            return ($"{ByteSize.Format(done)} of {ByteSize.Format(total)}", total > 0 ? (int)(done * 100 / total) : 0, remaining);
        }

        await BoundedRunner.RunAsync(items, throttleLimit, async (item, slot) =>
        {
            if (ct.IsCancellationRequested)
            {
                return;
            }

            var fileClock = Stopwatch.StartNew();
            using var bar = progress.Begin("Expanding " + Path.GetFileName(item.SourcePath), overall);
            try
            {
                reporter.Verbose($"Expanding '{item.SourcePath}' to '{item.DestinationPath}'.");
                var onPosition = new InlineProgress(position =>
                {
                    inFlight[item] = position;
                    bar.Status($"{ByteSize.Format(position)} of {ByteSize.Format(item.CompressedSize)}", item.CompressedSize > 0 ? (int)(position * 100 / item.CompressedSize) : 0);
                    overall.Report(Overall);
                });
                var result = await FileExpander.ExpandAsync(item.SourcePath, item.DestinationPath, options, onPosition, ct).ConfigureAwait(false);
                if (result.Skipped)
                {
                    reporter.Verbose($"'{item.DestinationPath}' exists: skipped (use -Force to replace it).");
                }
                else
                {
                    reporter.Verbose(string.Create(CultureInfo.InvariantCulture, $"Expanded '{item.SourcePath}' ({ByteSize.Format(result.CompressedBytes)}) to '{item.DestinationPath}' ({ByteSize.Format(result.ExpandedBytes)}) in {result.Duration.TotalSeconds:0.0} s; block and stream CRCs verified{(result.SourceDeleted ? "; source deleted" : string.Empty)}."));
                }

                completed(ToBulkFile(item, result.Skipped ? BulkFileState.Skipped : BulkFileState.Extracted, result.ExpandedBytes, fileClock.Elapsed, null, result.Skipped), null);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                var error = ex as BulkDataException
                    ?? new BulkDataException(ex is OperationCanceledException ? BulkErrorKind.Cancelled : KindOf(ex), $"Expanding '{item.SourcePath}' to '{item.DestinationPath}' failed: {ex.Message} The source was kept.", item.SourcePath, ex);
                completed(ToBulkFile(item, BulkFileState.Failed, 0, fileClock.Elapsed, error.Message, false), error);
            }
            finally
            {
                inFlight.TryRemove(item, out _);
                Interlocked.Add(ref finished, item.CompressedSize);
                bar.Complete();
                var (status, percent, seconds) = Overall();
                overall.Status(status, percent, seconds, force: true);
            }
        }, ct).ConfigureAwait(false);

        overall.Complete();
        ct.ThrowIfCancellationRequested();
    }

    private static BulkErrorKind KindOf(Exception ex) => ex switch
    {
        UnauthorizedAccessException => BulkErrorKind.AccessDenied,
        DirectoryNotFoundException or FileNotFoundException => BulkErrorKind.ObjectNotFound,
        IOException io when io.Message.Contains("space", StringComparison.OrdinalIgnoreCase) => BulkErrorKind.InsufficientSpace,
        _ => BulkErrorKind.InvalidData,
    };

    private static BulkFile ToBulkFile(ExpandItem item, BulkFileState state, long size, TimeSpan duration, string? error, bool skipped)
    {
        var origin = item.Origin;
        var parsed = DumpFileName.TryParse(Path.GetFileName(item.SourcePath));
        bool failed = state == BulkFileState.Failed;
        return new BulkFile
        {
            Path = failed ? item.SourcePath : item.DestinationPath,
            Dataset = origin?.Dataset ?? parsed?.Dataset ?? Path.GetFileName(item.DestinationPath),
            Size = failed ? item.CompressedSize : (skipped && File.Exists(item.DestinationPath) ? new FileInfo(item.DestinationPath).Length : size),
            State = state,
            Verification = failed ? VerificationMethod.None : skipped ? VerificationMethod.AlreadyPresent : VerificationMethod.Bzip2Crc,
            Duration = duration,
            Key = origin?.Key,
            ETag = origin?.ETag,
            Kind = origin?.Kind ?? parsed?.Kind ?? EntryKind.Other,
            DumpDate = origin?.DumpDate ?? parsed?.Date,
            Error = error,
        };
    }

    private sealed class InlineProgress : IProgress<long>
    {
        private readonly Action<long> _report;

        public InlineProgress(Action<long> report) => _report = report;

        public void Report(long value) => _report(value);
    }
}
