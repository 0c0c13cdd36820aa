using System.Collections.Concurrent;
using System.Management.Automation;
using BulkData.Engine;

namespace BulkData.Cmdlets;

/// <summary>
/// Engine work that runs across several ProcessRecord calls (an import fed as its files arrive): started once,
/// what it reports or emits written on the pipeline thread whenever the cmdlet is called again (<see cref="Pump"/>),
/// and waited for at the end (<see cref="Finish"/>) with the one failure policy of <see cref="RunEngine{T}"/>.
/// </summary>
public abstract partial class BulkCmdlet
{
    /// <summary>A started background run: its queue of writes, its task and its cancellation.</summary>
    protected sealed class BackgroundRun : IDisposable
    {
        internal BackgroundRun(BlockingCollection<Action> queue, Task task, CancellationTokenSource run)
        {
            Queue = queue;
            Task = task;
            Cancel = run;
        }

        internal BlockingCollection<Action> Queue { get; }

        internal Task Task { get; }

        internal CancellationTokenSource Cancel { get; }

        public void Dispose() => Cancel.Dispose();
    }

    /// <summary>Starts <paramref name="work"/> off the pipeline thread; call <see cref="Pump"/> from later ProcessRecord calls and <see cref="Finish"/> at the end.</summary>
    protected BackgroundRun StartEngine(Func<IBulkReporter, Action<object>, CancellationToken, Task> work)
        => Start<bool>(async (r, e, c) =>
        {
            await work(r, e, c).ConfigureAwait(false);
            return true;
        }, out _);

    /// <summary>
    /// The one start of engine work: off the pipeline thread, its reports and emitted objects (an ErrorRecord as a
    /// non-terminating error, anything else as output) queued for the pipeline thread, the queue closed when it ends.
    /// </summary>
    private BackgroundRun Start<T>(Func<IBulkReporter, Action<object>, CancellationToken, Task<T>> work, out Task<T> task)
    {
        var run = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var queue = new BlockingCollection<Action>();
        var reporter = new QueueReporter(queue, this);
        void Emit(object o) => Post(queue, () =>
        {
            if (o is ErrorRecord e)
            {
                WriteError(e);
            }
            else
            {
                WriteObject(o);
            }
        });
        task = Task.Run(() => work(reporter, Emit, run.Token), run.Token);
        task.ContinueWith(_ => queue.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new BackgroundRun(queue, task, run);
    }

    /// <summary>Writes what the run has reported or emitted so far, without waiting.</summary>
    protected void Pump(BackgroundRun background)
    {
        try
        {
            while (background.Queue.TryTake(out var action))
            {
                action();
            }
        }
        catch
        {
            StopAndWait(background);
            throw;
        }
    }

    /// <summary>Writes everything until the run ends; an expected failure ends the cmdlet with an ErrorRecord.</summary>
    protected void Finish(BackgroundRun background, object? errorTarget)
    {
        Drain(background);
        try
        {
            background.Task.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            ThrowTerminatingError(ToErrorRecord(ex, errorTarget));
        }
    }

    /// <summary>
    /// Writes everything the run reports or emits until it ends. When the pipeline stops taking output (or a write
    /// fails), the work is cancelled and waited for, so it can clean up, and the failure goes on.
    /// </summary>
    private void Drain(BackgroundRun background)
    {
        try
        {
            foreach (var action in background.Queue.GetConsumingEnumerable())
            {
                action();
            }
        }
        catch
        {
            StopAndWait(background);
            throw;
        }
    }

    private static void StopAndWait(BackgroundRun background)
    {
        background.Cancel.Cancel();
        try
        {
            background.Task.Wait();
        }
        catch (AggregateException)
        {
        }
    }
}
