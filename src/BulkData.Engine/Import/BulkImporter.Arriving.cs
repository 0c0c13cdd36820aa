using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// Tables whose files arrive while the import runs (Invoke-BulkImport fed by Start-BulkFetch): each is loaded as
/// soon as it arrives, complete and verified, while later files still download; post-data follows the last.
/// </summary>
public sealed partial class BulkImporter
{
    /// <summary>
    /// Loads the jobs of <see cref="ImportPlan.Arriving"/> as they come, as many at once as the mode allows, each
    /// checked first as the up-front jobs are (the journal, then its header against its table: a drifted file fails
    /// alone here, since the tables before it are already loaded). Returns how many failed.
    /// </summary>
    private async Task<int> LoadArrivingAsync(PgConnectionInfo conn, NpgsqlConnection main, ImportJournal journal, ImportPlan plan, LoadMode mode, bool replica, Action<ImportResult> emit, HashSet<string> seen, CancellationToken ct)
    {
        if (plan.Arriving is null)
        {
            return 0;
        }

        int failed = 0;
        var running = new List<Task>();
        using var gate = new SemaphoreSlim(LoadModePolicy.Parallelism(mode, _options.ThrottleLimit));
        await foreach (var job in plan.Arriving.ReadAllAsync(ct).ConfigureAwait(false))
        {
            if (!seen.Add(job.QualifiedTable))
            {
                _reporter.Warning($"{job.FilePath}: not imported, table {job.QualifiedTable} already has its file in this import.");
                continue;
            }

            var entry = await journal.EntryAsync(job.QualifiedTable, ct).ConfigureAwait(false);
            if (!_options.Force && entry is not null && entry.IsSameFile(job))
            {
                _reporter.Verbose($"{job.QualifiedTable}: already loaded from {job.FileName} ({entry.Rows} rows, {entry.Identity}); skipped. Use -Force to reload.");
                emit(Result(job, plan, ImportStatus.Skipped, entry.Rows, 0, TimeSpan.Zero, null));
                continue;
            }

            var problem = (await DriftPreflight.CheckAsync(main, new[] { job }, ct).ConfigureAwait(false)).FirstOrDefault(d => d.IsProblem(_options.ExcludeExtraColumns));
            if (problem is not null)
            {
                Interlocked.Increment(ref failed);
                string error = $"The file does not fit its table; nothing of it was loaded: {problem.Describe(_options.ExcludeExtraColumns)}";
                _reporter.Warning($"{job.QualifiedTable} failed: {error}");
                emit(Result(job, plan, ImportStatus.Failed, 0, 0, TimeSpan.Zero, error));
                continue;
            }

            await gate.WaitAsync(ct).ConfigureAwait(false);
            _reporter.Verbose($"{job.QualifiedTable}: {job.FileName} arrived; loading it while later files still come.");
            running.Add(Task.Run(
                async () =>
                {
                    try
                    {
                        if (await LoadTablesAsync(conn, plan, new[] { job }, mode, replica, emit, ct).ConfigureAwait(false) > 0)
                        {
                            Interlocked.Increment(ref failed);
                        }
                    }
                    finally
                    {
                        gate.Release();
                    }
                },
                CancellationToken.None));
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        return failed;
    }
}
