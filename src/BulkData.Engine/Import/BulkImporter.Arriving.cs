using System.Threading.Channels;
using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// Tables whose files arrive while the import runs (Invoke-BulkImport fed by Start-BulkFetch): each job of
/// <see cref="ImportPlan.Arriving"/> goes into the schedule's channel as it comes, so it loads as soon as its file is
/// complete and verified, while later files still download, and its indexes and keys follow its data as every
/// table's do.
/// </summary>
public sealed partial class BulkImporter
{
    /// <summary>
    /// Forwards the plan's arriving jobs into <paramref name="writer"/> (a second file for a table already in the
    /// import is warned about and left out), then completes it.
    /// </summary>
    private async Task ForwardArrivalsAsync(ImportPlan plan, IReadOnlyList<TableJob> todo, ChannelWriter<TableJob> writer, HashSet<TableJob> arrived, Action<long> addBytes, CancellationToken ct)
    {
        var seen = plan.Jobs.Select(j => j.QualifiedTable).Concat(todo.Select(j => j.QualifiedTable)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        try
        {
            await foreach (var job in plan.Arriving!.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if (!seen.Add(job.QualifiedTable))
                {
                    _reporter.Warning($"{job.FilePath}: not imported, table {job.QualifiedTable} already has its file in this import.");
                    continue;
                }

                lock (arrived)
                {
                    arrived.Add(job);
                }

                addBytes(job.Bytes);
                writer.TryWrite(job);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The run is stopping: the schedule sees the cancellation itself.
        }
        finally
        {
            writer.TryComplete();
        }
    }

    /// <summary>
    /// The checks an arriving job gets before its load, as the up-front jobs got them before any load: the journal
    /// (loaded from the same file: Skipped), then its header against its table (a drifted file fails alone here,
    /// since the tables before it are already loaded). Null: load it.
    /// </summary>
    private async Task<ImportResult?> CheckArrivalAsync(NpgsqlConnection main, ImportJournal journal, ImportPlan plan, TableJob job, CancellationToken ct)
    {
        var entry = await journal.EntryAsync(job.QualifiedTable, ct).ConfigureAwait(false);
        if (!_options.Force && entry is not null && entry.IsSameFile(job))
        {
            _reporter.Verbose($"{job.QualifiedTable}: already loaded from {job.FileName} ({entry.Rows} rows, {entry.Identity}); skipped. Use -Force to reload.");
            return Result(job, plan, ImportStatus.Skipped, entry.Rows, 0, TimeSpan.Zero, null);
        }

        var problem = (await DriftPreflight.CheckAsync(main, new[] { job }, ct).ConfigureAwait(false)).FirstOrDefault(d => d.IsProblem(_options.ExcludeExtraColumns));
        if (problem is null)
        {
            return null;
        }

        string error = $"The file does not fit its table; nothing of it was loaded: {problem.Describe(_options.ExcludeExtraColumns)}";
        _reporter.Warning($"{job.QualifiedTable} failed: {error}");
        return Result(job, plan, ImportStatus.Failed, 0, 0, TimeSpan.Zero, error);
    }
}
