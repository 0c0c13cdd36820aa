using System.Threading.Channels;
using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Tables;

namespace BulkData.Engine.Import.Schedule;

/// <summary>
/// What the scheduler gets: the table loads, which may arrive over time, and the post-data jobs.
/// </summary>
internal sealed class ScheduleInput
{
    /// <summary>
    /// The tables to load, in the order they should start (largest first). A reader that is already complete is
    /// today's case (every file on disk); a producer that writes a job when its file is ready (a download that
    /// finished) and completes the writer when no more will come is the streaming one.
    /// </summary>
    public required ChannelReader<TableJob> Tables { get; init; }

    /// <summary>
    /// Every table (qualified) whose data this run will load, known up front (from the plan), arrived or not:
    /// post-data jobs on them wait until their load committed. Tables not named here are taken as loaded.
    /// </summary>
    public required IReadOnlyCollection<string> PendingTables { get; init; }

    /// <summary>The post-data jobs (<see cref="PostDataJobs.Build"/>); empty when post-data is not applied.</summary>
    public IReadOnlyList<PostDataJob> PostData { get; init; } = Array.Empty<PostDataJob>();

    /// <summary>The ids of the post-data jobs the journal records as done (skipped).</summary>
    public IReadOnlySet<string> PostDataDone { get; init; } = new HashSet<string>();

    /// <summary>Most table loads at once (1 in foreign-key order).</summary>
    public int LoadParallelism { get; init; } = int.MaxValue;

    /// <summary>Connections a table's load asks for (several COPY streams); given at most what is free.</summary>
    public Func<TableJob, int> StreamsFor { get; init; } = _ => 1;

    /// <summary>The weight of a table (its file's bytes): post-data jobs of heavier tables start first.</summary>
    public Func<string, long> TableWeight { get; init; } = _ => 0;
}

/// <summary>What a scheduled run did.</summary>
internal sealed record ScheduleOutcome(int FailedTables, int PostDataRun, IReadOnlyList<PostDataJob> PostDataNotRun, int PeakConnections)
{
    public bool PostDataComplete => PostDataNotRun.Count == 0;
}

/// <summary>
/// The import's one schedule: table loads and post-data jobs share <c>limit</c> connections (-ThrottleLimit):
/// the sum of the connections of the loads and jobs running is never more. Loads start first, in their order,
/// each with the streams it asks for (at most the free connections). A post-data job starts when its
/// dependencies are done, the data of its tables is committed (<see cref="ScheduleInput.PendingTables"/>), and no
/// running job holds a conflicting lock on one of its tables (an index build shares its table with other index
/// builds; a key, a foreign key or a validation has its table to itself, a validation shares the referenced one),
/// heaviest tables first. Serial jobs run one at a time, in list order, after every load and every other job.
/// A failed table stops new post-data jobs (those on its data would be wrong; the others resume on the next
/// run); a post-data job that throws stops everything (running work is cancelled) and is rethrown.
/// One loop decides; the work runs on the thread pool and reports back through a channel.
/// </summary>
internal sealed class ImportScheduler
{
    private readonly int _limit;

    public ImportScheduler(int limit)
    {
        if (limit < 1)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "ThrottleLimit must be at least 1.");
        }

        _limit = limit;
    }

    /// <param name="load">Loads a table on the given number of connections; true when it committed.</param>
    /// <param name="post">Runs one post-data job on one connection; throws on a failure that must end the run.</param>
    public async Task<ScheduleOutcome> RunAsync(ScheduleInput input, Func<TableJob, int, CancellationToken, Task<bool>> load, Func<PostDataJob, CancellationToken, Task> post, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var token = cts.Token;
        var completions = Channel.CreateUnbounded<Completion>(new UnboundedChannelOptions { SingleReader = true });
        var queue = new List<TableJob>();
        var pending = new HashSet<string>(input.PendingTables, StringComparer.OrdinalIgnoreCase);
        var came = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        bool released = false;
        var failed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var done = new HashSet<string>(input.PostDataDone, StringComparer.Ordinal);
        // A dependency that is not among the jobs (a foreign key of a run that only validates) was done before.
        var known = input.PostData.Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
        done.UnionWith(input.PostData.SelectMany(j => j.DependsOn).Where(d => !known.Contains(d)));
        var locks = new TableLocks();
        var order = input.PostData.Select((j, i) => (Job: j, Index: i)).ToList();
        var parallel = order.Where(x => !x.Job.Serial && !done.Contains(x.Job.Id))
            .OrderByDescending(x => x.Job.Table is null ? 0 : input.TableWeight(x.Job.Table)).ThenBy(x => x.Index).Select(x => x.Job).ToList();
        var serial = order.Where(x => x.Job.Serial && !done.Contains(x.Job.Id)).Select(x => x.Job).ToList();
        int free = _limit, peak = 0, loadsRunning = 0, postRunning = 0, postRun = 0, failedTables = 0;
        bool inputDone = false, stopPost = false, serialRunning = false;
        Exception? fatal = null;
        var running = new List<Task>();

        void Start(int slots, Func<Task> work, Func<Exception?, Completion> report)
        {
            free -= slots;
            peak = Math.Max(peak, _limit - free);
            running.Add(Task.Run(async () =>
            {
                Exception? error = null;
                try
                {
                    await work().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    error = e;
                }

                completions.Writer.TryWrite(report(error));
            }, CancellationToken.None));
        }

        PostDataJob? NextParallel()
        {
            foreach (var job in parallel)
            {
                if (job.DependsOn.All(done.Contains) && !job.Tables.Any(t => pending.Contains(t) || failed.Contains(t)) && locks.CanTake(job))
                {
                    return job;
                }
            }

            return null;
        }

        try
        {
            while (true)
            {
                while (input.Tables.TryRead(out var arrived))
                {
                    queue.Add(arrived);
                    pending.Add(arrived.QualifiedTable);
                    came.Add(arrived.QualifiedTable);
                }

                if (inputDone && !released)
                {
                    // No more tables can come: one named pending that never came has no data in this run, so its
                    // post-data is no longer held back (as for a table not named at all).
                    pending.RemoveWhere(t => !came.Contains(t));
                    released = true;
                }

                bool stopping = token.IsCancellationRequested || fatal is not null;
                if (!stopping)
                {
                    while (free > 0 && queue.Count > 0 && loadsRunning < input.LoadParallelism)
                    {
                        var job = queue[0];
                        queue.RemoveAt(0);
                        int streams = Math.Clamp(input.StreamsFor(job), 1, free);
                        loadsRunning++;
                        Start(streams, async () =>
                        {
                            if (!await load(job, streams, token).ConfigureAwait(false))
                            {
                                throw new TableFailed();
                            }
                        }, e => new Completion(job, null, streams, e));
                    }

                    while (!stopPost && free > 0 && NextParallel() is { } job)
                    {
                        parallel.Remove(job);
                        locks.Take(job);
                        postRunning++;
                        Start(1, () => post(job, token), e => new Completion(null, job, 1, e));
                    }

                    bool loadsOver = inputDone && queue.Count == 0 && loadsRunning == 0;
                    if (!stopPost && loadsOver && free > 0 && !serialRunning && postRunning == 0 && parallel.Count == 0 && serial.Count > 0)
                    {
                        var job = serial[0];
                        serial.RemoveAt(0);
                        serialRunning = true;
                        postRunning++;
                        Start(1, () => post(job, token), e => new Completion(null, job, 1, e));
                    }
                }

                // What is running is counted by the completions not yet read, not by the tasks: a job writes its
                // completion just before its task ends, so a task can still look unfinished once its completion has
                // been read (waiting on it then would wait for a completion that never comes).
                int active = loadsRunning + postRunning;
                if (active == 0 && (inputDone || stopping) && (queue.Count == 0 || stopping))
                {
                    break;
                }

                // Wait for a completion, or (while more may come) a table arriving.
                var completed = completions.Reader.WaitToReadAsync(CancellationToken.None).AsTask();
                if (!inputDone && !stopping)
                {
                    var arrival = input.Tables.WaitToReadAsync(token).AsTask();
                    await Task.WhenAny(completed, arrival).ConfigureAwait(false);
                    if (arrival.IsCompleted)
                    {
                        inputDone = arrival.IsCanceled || arrival.IsFaulted || !arrival.Result;
                    }
                }
                else if (active > 0)
                {
                    await completed.ConfigureAwait(false);
                }
                else
                {
                    continue;
                }

                while (completions.Reader.TryRead(out var c))
                {
                    free += c.Slots;
                    if (c.Table is { } table)
                    {
                        loadsRunning--;
                        pending.Remove(table.QualifiedTable);
                        if (c.Error is not null)
                        {
                            if (c.Error is not TableFailed && fatal is null && c.Error is not OperationCanceledException)
                            {
                                fatal = c.Error;
                                cts.Cancel();
                            }

                            failed.Add(table.QualifiedTable);
                            failedTables++;
                            stopPost = true;
                        }
                    }
                    else if (c.Job is { } job)
                    {
                        postRunning--;
                        serialRunning &= !job.Serial;
                        locks.Release(job);
                        if (c.Error is null)
                        {
                            done.Add(job.Id);
                            postRun++;
                        }
                        else
                        {
                            if (fatal is null && c.Error is not OperationCanceledException)
                            {
                                fatal = c.Error;
                            }

                            stopPost = true;
                            cts.Cancel();
                        }
                    }
                }

                running.RemoveAll(t => t.IsCompleted);
            }
        }
        finally
        {
            await Task.WhenAll(running).ConfigureAwait(false);
        }

        if (fatal is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(fatal).Throw();
        }

        ct.ThrowIfCancellationRequested();
        var notRun = input.PostData.Where(j => !done.Contains(j.Id)).ToList();
        return new ScheduleOutcome(failedTables, postRun, notRun, peak);
    }

    private sealed record Completion(TableJob? Table, PostDataJob? Job, int Slots, Exception? Error);

    private sealed class TableFailed : Exception;

    /// <summary>
    /// The table locks of the running post-data jobs, in two modes: an index build takes its table shared (CREATE
    /// INDEX's SHARE lock admits other builds); a key (ACCESS EXCLUSIVE), a foreign key (SHARE ROW EXCLUSIVE on both
    /// tables) and a validation (SHARE UPDATE EXCLUSIVE on its table) take theirs exclusive; a validation takes the
    /// referenced table shared (ROW SHARE). Two jobs whose locks would wait on each other in PostgreSQL never run
    /// at once, so no connection sits in a lock wait.
    /// </summary>
    private sealed class TableLocks
    {
        private readonly Dictionary<string, int> _shared = new(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _exclusive = new(StringComparer.OrdinalIgnoreCase);

        private static IEnumerable<(string Table, bool Exclusive)> Of(PostDataJob job)
        {
            switch (job.Kind)
            {
                case PostDataJobKind.Index when job.Table is not null:
                    yield return (job.Table, false);
                    break;
                case PostDataJobKind.Key when job.Table is not null:
                    yield return (job.Table, true);
                    break;
                case PostDataJobKind.ForeignKey:
                    foreach (var t in job.Tables)
                    {
                        yield return (t, true);
                    }

                    break;
                case PostDataJobKind.Validate:
                    foreach (var t in job.Tables)
                    {
                        yield return (t, string.Equals(t, job.Table, StringComparison.OrdinalIgnoreCase));
                    }

                    break;
            }
        }

        public bool CanTake(PostDataJob job)
            => Of(job).All(l => !_exclusive.Contains(l.Table) && (!l.Exclusive || !_shared.ContainsKey(l.Table)));

        public void Take(PostDataJob job)
        {
            foreach (var (table, exclusive) in Of(job))
            {
                if (exclusive)
                {
                    _exclusive.Add(table);
                }
                else
                {
                    _shared[table] = _shared.GetValueOrDefault(table) + 1;
                }
            }
        }

        public void Release(PostDataJob job)
        {
            foreach (var (table, exclusive) in Of(job))
            {
                if (exclusive)
                {
                    _exclusive.Remove(table);
                }
                else if (_shared.TryGetValue(table, out int n))
                {
                    if (n <= 1)
                    {
                        _shared.Remove(table);
                    }
                    else
                    {
                        _shared[table] = n - 1;
                    }
                }
            }
        }
    }
}
