namespace BulkData.Engine;

/// <summary>
/// What a run reports for each of its items as soon as that item's outcome is known: the result object, and for
/// a failed item the error. Runs call it one call at a time, from any thread.
/// </summary>
public delegate void OutcomeCallback<in T>(T result, BulkDataException? error);

/// <summary>
/// The one worker pool of the engine (fetch, expand, import): runs an action per item in the order given, at most
/// a given number at once, each on the thread pool with a slot number of its own (0 to limit - 1, for progress
/// bars). When the token is cancelled no new item starts; items already started always finish (or clean up)
/// before the run returns. An action's exception does not stop the others; the first is rethrown at the end.
/// </summary>
internal static class BoundedRunner
{
    public static async Task RunAsync<T>(IEnumerable<T> items, int limit, Func<T, int, Task> work, CancellationToken ct)
    {
        if (limit < 1)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "ThrottleLimit must be at least 1.");
        }

        using var slots = new SemaphoreSlim(limit);
        var free = new Stack<int>(Enumerable.Range(0, limit).Reverse());
        var running = new List<Task>();
        try
        {
            foreach (var item in items)
            {
                try
                {
                    await slots.WaitAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                if (ct.IsCancellationRequested)
                {
                    slots.Release();
                    break;
                }

                int slot;
                lock (free)
                {
                    slot = free.Pop();
                }

                running.Add(Task.Run(
                    async () =>
                    {
                        try
                        {
                            await work(item, slot).ConfigureAwait(false);
                        }
                        finally
                        {
                            lock (free)
                            {
                                free.Push(slot);
                            }

                            slots.Release();
                        }
                    },
                    CancellationToken.None));
            }
        }
        finally
        {
            await Task.WhenAll(running).ConfigureAwait(false);
        }
    }

    /// <summary>Wraps a callback so that it is called one call at a time.</summary>
    public static OutcomeCallback<T> Serialized<T>(OutcomeCallback<T> callback)
    {
        var gate = new object();
        return (result, error) =>
        {
            lock (gate)
            {
                callback(result, error);
            }
        };
    }
}
