using BulkData.Engine.DumpFiles;
using System.Collections.Concurrent;
using System.Diagnostics;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Transfer;

/// <summary>
/// The whole of Start-BulkFetch: checks the plan against the disk, skips what is already there, downloads the
/// rest largest first with at most ThrottleLimit transfers at once, and (with Extract) expands the .bz2 files
/// in strict size order by a queue of its own that overlaps with the downloads still running.
/// </summary>
public static class BulkFetcher
{
    /// <summary>
    /// Runs the plan. <paramref name="onFile"/> is called once per entry as soon as its outcome is known (with the
    /// error for a Failed file); it may be called from several threads, one call at a time.
    /// Throws for a plan that cannot start (no room, bad options) or a run that had to stop (space timeout, Ctrl+C).
    /// </summary>
    public static async Task<IReadOnlyList<BulkFile>> RunAsync(
        IEnumerable<ManifestEntry> entries,
        FetchOptions options,
        IBulkReporter reporter,
        OutcomeCallback<BulkFile> onFile,
        CancellationToken cancellationToken)
    {
        options.Validate();
        onFile = BoundedRunner.Serialized(onFile);
        string destination = Path.GetFullPath(options.Destination);
        DestinationFolder.Check(destination);
        var results = new ConcurrentBag<BulkFile>();
        var reported = new ConcurrentDictionary<ManifestEntry, bool>(ReferenceEqualityComparer.Instance);
        var gate = new object();
        void Report(ManifestEntry entry, BulkFile file, BulkDataException? error)
        {
            reported[entry] = true;
            results.Add(file);
            onFile(file, error);
        }

        using var stores = new StoreCache(options);

        // 0. An entry rebuilt from bare properties (Select-Object Key,Size,Bucket,...) learns its version from the store.
        var given = new List<ManifestEntry>();
        foreach (var entry in entries.Where(e => e is not null))
        {
            if (entry.HasVersion)
            {
                given.Add(entry);
                continue;
            }

            try
            {
                var store = stores.For(entry);
                var head = await store.HeadAsync(entry.Key, cancellationToken).ConfigureAwait(false);
                if (entry.Size > 0 && head.Size != entry.Size)
                {
                    throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{store.Describe(entry.Key)} is {head.Size} bytes, not the {entry.Size} bytes given: it changed since it was listed.", entry.Key);
                }

                reporter.Verbose($"{entry.Key}: no ETag given; the store reports {head.ETag} ({ByteSize.Format(head.Size)}).");
                given.Add(entry.WithVersion(head.Size, head.ETag, head.LastModified));
            }
            catch (BulkDataException ex)
            {
                Report(entry, Failed(entry, string.Empty, ex, TimeSpan.Zero), ex);
            }
        }

        // 1. Where each object goes; keys that would leave the destination are refused here, before any I/O.
        // The schema and the load script first (an import fed by this fetch applies pre-data as soon as the
        // schema arrives), then the data largest first.
        var ordered = given.OrderBy(e => e.Kind is EntryKind.Schema ? 0 : e.Kind is EntryKind.LoadScript ? 1 : 2).ThenByDescending(e => e.Size).ThenBy(e => e.Key, StringComparer.Ordinal).ToList();
        var items = new List<FetchItem>();
        var seen = new HashSet<string>(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        foreach (var entry in ordered)
        {
            try
            {
                string name = FetchLayout.FileNameOfKey(entry.Key);
                string final = FetchLayout.ResolveInside(destination, name);
                if (FetchLayout.IsTemporaryName(name) || FolderLock.IsLockName(name) || FolderLock.IsLockName(FetchLayout.ExpandedName(name)))
                {
                    throw new BulkDataException(BulkErrorKind.UnsafePath, $"The object key '{entry.Key}' ends in a name reserved for temporary or lock files: refused.", entry.Key);
                }

                if (!seen.Add(final) || (options.Extract && entry.IsCompressed && !seen.Add(FetchLayout.ExpandedName(final))))
                {
                    throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The object key '{entry.Key}' maps to '{final}', which another object of the plan already uses: refused.", entry.Key);
                }

                items.Add(new FetchItem(entry, name, final));
            }
            catch (BulkDataException ex)
            {
                reporter.Verbose($"{entry.Key}: refused ({ex.Message}).");
                Report(entry, Failed(entry, string.Empty, ex, TimeSpan.Zero), ex);
            }
        }

        if (items.Count == 0)
        {
            return results.ToList();
        }

        // The destination's lock, held for the rest of the run: what is already there, the downloads, the extraction and the
        // clean-up are decided and done by one run at a time. A folder that does not exist yet is checked for room first
        // (with nothing in it, every file is needed), so that a plan that cannot fit creates nothing.
        if (!Directory.Exists(destination))
        {
            CheckRoom(destination, items, items.Where(i => options.Extract && i.Entry.IsCompressed).ToList(), 0, options, reporter);
        }

        using var folderLock = await FolderLock.AcquireAsync(destination, "Start-BulkFetch", options.NoWait, reporter, cancellationToken).ConfigureAwait(false);

        // 2. What is already there.
        var toDownload = new List<FetchItem>();
        var toExtract = new List<FetchItem>();
        long forceExtra = 0;
        foreach (var item in items)
        {
            var e = item.Entry;
            bool extractThis = options.Extract && e.IsCompressed;
            string expanded = FetchLayout.ExpandedName(item.FinalPath);
            bool finalPresent = File.Exists(item.FinalPath) && new FileInfo(item.FinalPath).Length == e.Size;
            if (!options.Force && extractThis && File.Exists(expanded))
            {
                reporter.Verbose($"{item.FileName}: already extracted as '{expanded}': skipped.");
                Report(e, Done(e, expanded, new FileInfo(expanded).Length, BulkFileState.Skipped, VerificationMethod.AlreadyPresent, TimeSpan.Zero), null);
                continue;
            }

            if (!options.Force && finalPresent)
            {
                if (extractThis)
                {
                    reporter.Verbose($"{item.FileName}: already downloaded; queued for extraction only.");
                    toExtract.Add(item);
                }
                else
                {
                    reporter.Verbose($"{item.FileName}: already complete at '{item.FinalPath}': skipped.");
                    Report(e, Done(e, item.FinalPath, e.Size, BulkFileState.Skipped, VerificationMethod.AlreadyPresent, TimeSpan.Zero), null);
                }

                continue;
            }

            if (options.Force)
            {
                if (finalPresent || (extractThis && File.Exists(expanded)))
                {
                    forceExtra += e.Size + (extractThis ? (long)Math.Ceiling(e.Size * options.ExpansionRatio) : 0);
                }

                if (File.Exists(item.PartialPath))
                {
                    reporter.Verbose($"{item.FileName}: -Force: the partial file is discarded.");
                    item.Partial.Delete();
                }
            }

            toDownload.Add(item);
            if (extractThis)
            {
                toExtract.Add(item);
            }
        }

        if (toDownload.Count == 0 && toExtract.Count == 0)
        {
            CleanUp(items, Array.Empty<FetchItem>(), reporter);
            return results.ToList();
        }

        // 3. Room for the whole plan, before anything is downloaded (the Test-BulkDiskSpace rules).
        CheckRoom(destination, toDownload, toExtract, forceExtra, options, reporter);

        // 4. Run: downloads largest first, extraction by its own ordered queue.
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var guard = new DiskGuard(destination, options.MinimumFreeSpace, options.LowSpaceTimeout, options.SpacePollInterval, reporter);
        BulkDataException? fatal = null;
        var failed = new ConcurrentBag<FetchItem>();
        var downloaded = toDownload.ToDictionary(i => i, _ => new TaskCompletionSource<DownloadResult?>(TaskCreationOptions.RunContinuationsAsynchronously));
        void Fatal(BulkDataException ex)
        {
            lock (gate)
            {
                fatal ??= ex;
            }

            run.Cancel();
        }

        {
            await using var progress = new FetchProgress(reporter, toDownload.Sum(i => i.Entry.Size), toDownload.Count + toExtract.Count(i => !downloaded.ContainsKey(i)));
            var extraction = options.Extract && toExtract.Count > 0
                ? Task.Run(() => ExtractInOrderAsync(toExtract, downloaded, options, guard, progress, reporter, Report, failed, Fatal, run.Token))
                : Task.CompletedTask;

            await BoundedRunner.RunAsync(toDownload, options.ThrottleLimit, async (item, _) =>
            {
                if (run.IsCancellationRequested)
                {
                    return;
                }

                reporter.Verbose($"{item.FileName}: started ({ByteSize.Format(item.Entry.Size)}).");
                var clock = Stopwatch.StartNew();
                bool extractThis = options.Extract && item.Entry.IsCompressed;
                try
                {
                    var result = await new ObjectDownloader(stores.For(item.Entry), options, guard, reporter).DownloadAsync(item, progress, run.Token).ConfigureAwait(false);
                    progress.FileDone();
                    downloaded[item].TrySetResult(result);
                    if (!extractThis)
                    {
                        Report(item.Entry, Done(item.Entry, item.FinalPath, item.Entry.Size, BulkFileState.Downloaded, result.Verification, clock.Elapsed), null);
                    }
                }
                catch (Exception ex)
                {
                    downloaded[item].TrySetResult(null);
                    failed.Add(item);
                    if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
                    {
                        return;
                    }

                    var error = ex as BulkDataException
                        ?? (ex is OperationCanceledException && fatal is not null
                            ? new BulkDataException(fatal.Kind, $"{item.Target}: stopped because the run failed: {fatal.Message}", item.Target, ex)
                            : new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Fetching {item.Target} failed: {ex.Message}", item.Target, ex));
                    reporter.Verbose($"{item.FileName}: failed ({error.Message}).");
                    Report(item.Entry, Failed(item.Entry, item.FinalPath, error, clock.Elapsed), error);
                    if (error.Kind == BulkErrorKind.InsufficientSpace && ex is BulkDataException)
                    {
                        Fatal(error);
                    }
                }
            }, run.Token).ConfigureAwait(false);
            foreach (var tcs in downloaded.Values)
            {
                tcs.TrySetResult(null);
            }

            try
            {
                await extraction.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && fatal is not null)
            {
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (fatal is not null)
        {
            // One BulkFile per input, even for the files the failed run never reached.
            foreach (var item in toDownload.Concat(toExtract).Distinct())
            {
                if (!reported.ContainsKey(item.Entry))
                {
                    var notReached = new BulkDataException(fatal.Kind, $"{item.Target}: not finished because the run failed: {fatal.Message}", item.Target);
                    Report(item.Entry, Failed(item.Entry, item.FinalPath, notReached, TimeSpan.Zero), notReached);
                }
            }

            throw fatal;
        }

        CleanUp(items, failed.ToList(), reporter);
        return results.ToList();
    }

    private static void CheckRoom(string destination, List<FetchItem> toDownload, List<FetchItem> toExtract, long forceExtra, FetchOptions options, IBulkReporter reporter)
    {
        var plan = toDownload.Concat(toExtract).Distinct().Select(i => new SpaceItem(i.FileName, i.Entry.Size, i.Entry.ETag)).ToList();
        var space = DiskSpace.Measure(destination, plan, options.Extract, options.ExpansionRatio, options.MinimumFreeSpace, forceExtra);
        reporter.Verbose($"Plan: {toDownload.Count} files to download, {toExtract.Count} to extract; {ByteSize.Format(space.RequiredBytes)} needed plus {ByteSize.Format(space.ReserveBytes)} kept free, {ByteSize.Format(space.AvailableBytes)} available on '{space.MeasuredPath}'.");
        if (!space.IsSufficient)
        {
            throw new BulkDataException(
                BulkErrorKind.InsufficientSpace,
                $"Not enough space on '{space.MeasuredPath}' for the plan: {ByteSize.Format(space.RequiredBytes)} needed for {toDownload.Count} downloads{(options.Extract ? " and their extraction" : string.Empty)} plus {ByteSize.Format(space.ReserveBytes)} -MinimumFreeSpace, {ByteSize.Format(space.AvailableBytes)} available: short by {ByteSize.Format(space.ShortfallBytes)} ({space.ShortfallBytes:N0} bytes). Nothing was downloaded.",
                destination);
        }
    }

    private static async Task ExtractInOrderAsync(
        List<FetchItem> queue,
        Dictionary<FetchItem, TaskCompletionSource<DownloadResult?>> downloaded,
        FetchOptions options,
        DiskGuard guard,
        FetchProgress progress,
        IBulkReporter reporter,
        Action<ManifestEntry, BulkFile, BulkDataException?> report,
        ConcurrentBag<FetchItem> failed,
        Action<BulkDataException> fatal,
        CancellationToken ct)
    {
        // Strict size order, largest first: a smaller file that finished early waits for its turn.
        foreach (var item in queue.OrderByDescending(i => i.Entry.Size).ThenBy(i => i.Entry.Key, StringComparer.Ordinal))
        {
            var verification = VerificationMethod.AlreadyPresent;
            if (downloaded.TryGetValue(item, out var tcs))
            {
                if (!tcs.Task.IsCompleted)
                {
                    reporter.Verbose($"{item.FileName}: waiting for its download before extracting (size order).");
                }

                var result = await tcs.Task.WaitAsync(ct).ConfigureAwait(false);
                if (result is null)
                {
                    continue;
                }

                verification = result.Verification;
            }

            ct.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            string expanded = FetchLayout.ExpandedName(item.FinalPath);
            try
            {
                reporter.Verbose($"{item.FileName}: extracting to '{expanded}'.");
                var expandedResult = await Extraction.ExpandAsync(item, expanded, options.KeepCompressed, guard, progress, reporter, ct).ConfigureAwait(false);
                progress.FileDone();
                reporter.Verbose($"{item.FileName}: extracted to '{expanded}' ({expandedResult.ExpandedBytes:N0} bytes, bzip2 block and stream CRCs checked; download verified by {verification}){(expandedResult.SourceDeleted ? "; the compressed file was deleted" : string.Empty)}.");
                report(item.Entry, Done(item.Entry, expanded, expandedResult.ExpandedBytes, BulkFileState.Extracted, VerificationMethod.Bzip2Crc, clock.Elapsed), null);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                failed.Add(item);
                var error = ex as BulkDataException ?? new BulkDataException(BulkErrorKind.InvalidData, $"Extracting '{item.FinalPath}' failed: {ex.Message}", item.FinalPath, ex);
                reporter.Verbose($"{item.FileName}: extraction failed ({error.Message}).");
                report(item.Entry, Failed(item.Entry, item.FinalPath, error, clock.Elapsed), error);
                if (error.Kind == BulkErrorKind.InsufficientSpace)
                {
                    fatal(error);
                    return;
                }
            }
        }
    }

    /// <summary>
    /// After a run: the temporary files of this run's plan go (partials, their notes, expanding files), except the
    /// resumable partials of transfers that failed in this run (a re-run resumes them). Temporary files of other
    /// objects are never touched: they may be another plan's partials, kept for its resume.
    /// </summary>
    internal static void CleanUp(IReadOnlyCollection<FetchItem> plan, IReadOnlyCollection<FetchItem> keep, IBulkReporter reporter)
    {
        var kept = new HashSet<string>(keep.SelectMany(i => new[] { i.PartialPath, i.ETagPath }));
        foreach (var path in plan.SelectMany(i => new[] { i.PartialPath, i.ETagPath, FetchLayout.ExpandingPath(FetchLayout.ExpandedName(i.FinalPath)) }))
        {
            if (!kept.Contains(path) && File.Exists(path) && FetchLayout.TryDelete(path))
            {
                reporter.Verbose($"Removed the leftover temporary file '{path}'.");
            }
        }
    }

    private static BulkFile Done(ManifestEntry e, string path, long size, BulkFileState state, VerificationMethod method, TimeSpan duration, string? error = null) => new()
    {
        Path = path,
        Dataset = e.Dataset,
        Size = size,
        State = state,
        Verification = method,
        Duration = duration,
        Key = e.Key,
        ETag = e.ETag,
        Kind = e.Kind,
        DumpDate = e.DumpDate,
        Error = error,
    };

    private static BulkFile Failed(ManifestEntry e, string path, BulkDataException error, TimeSpan duration)
        => Done(e, path, e.Size, BulkFileState.Failed, VerificationMethod.None, duration, error.Message);
}
