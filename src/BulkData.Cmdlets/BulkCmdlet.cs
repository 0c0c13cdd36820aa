using System.Collections.Concurrent;
using System.Management.Automation;
using BulkData.Engine;

namespace BulkData.Cmdlets;

/// <summary>
/// The shared binding of every BulkData cmdlet: runs engine work off the pipeline thread, forwards its
/// reports to Write* on the pipeline thread, cancels it on Ctrl+C, and turns engine errors into ErrorRecords.
/// </summary>
public abstract class BulkCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _stop = new();

    protected CancellationToken Stopping => _stop.Token;

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool. Whatever it reports or emits is written here, on
    /// the pipeline thread, while it runs. Returns its result, or rethrows its exception.
    /// </summary>
    protected T RunEngine<T>(Func<IBulkReporter, Action<object>, CancellationToken, Task<T>> work)
    {
        var queue = new BlockingCollection<Action>();
        var reporter = new QueueReporter(queue, this);
        // An ErrorRecord emitted by the work is written as a non-terminating error; anything else as output.
        var task = Task.Run(() => work(reporter, o => queue.Add(() => { if (o is ErrorRecord e) { WriteError(e); } else { WriteObject(o); } }), _stop.Token));
        task.ContinueWith(_ => queue.CompleteAdding(), TaskScheduler.Default);
        foreach (var action in queue.GetConsumingEnumerable())
        {
            action();
        }

        return task.GetAwaiter().GetResult();
    }

    protected void RunEngine(Func<IBulkReporter, Action<object>, CancellationToken, Task> work)
        => RunEngine<bool>(async (r, e, c) =>
        {
            await work(r, e, c).ConfigureAwait(false);
            return true;
        });

    /// <summary>Writes a non-terminating error for an engine failure.</summary>
    protected void WriteBulkError(Exception ex, object? target)
        => WriteError(ToErrorRecord(ex, target));

    /// <summary>Ends the cmdlet with an engine failure.</summary>
    protected void ThrowBulkError(Exception ex, object? target)
        => ThrowTerminatingError(ToErrorRecord(ex, target));

    internal static ErrorRecord ToErrorRecord(Exception ex, object? target)
    {
        if (ex is AggregateException agg && agg.InnerExceptions.Count == 1)
        {
            ex = agg.InnerExceptions[0];
        }

        if (ex is BulkDataException bulk)
        {
            return new ErrorRecord(bulk, bulk.ErrorId, CategoryOf(bulk.Kind), target ?? bulk.Target);
        }

        if (ex is OperationCanceledException)
        {
            return new ErrorRecord(ex, "Cancelled", ErrorCategory.OperationStopped, target);
        }

        return new ErrorRecord(ex, ex.GetType().Name, ErrorCategory.NotSpecified, target);
    }

    private static ErrorCategory CategoryOf(BulkErrorKind kind) => kind switch
    {
        BulkErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        BulkErrorKind.EndpointUnreachable => ErrorCategory.ConnectionError,
        BulkErrorKind.BucketNotFound => ErrorCategory.ObjectNotFound,
        BulkErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        BulkErrorKind.AccessDenied => ErrorCategory.PermissionDenied,
        BulkErrorKind.EmptyListing => ErrorCategory.ObjectNotFound,
        BulkErrorKind.IntegrityFailure => ErrorCategory.InvalidResult,
        BulkErrorKind.InsufficientSpace => ErrorCategory.LimitsExceeded,
        BulkErrorKind.UnsafePath => ErrorCategory.SecurityError,
        BulkErrorKind.InvalidData => ErrorCategory.InvalidData,
        BulkErrorKind.DatabaseError => ErrorCategory.InvalidOperation,
        BulkErrorKind.ExternalCommandFailed => ErrorCategory.InvalidOperation,
        BulkErrorKind.Cancelled => ErrorCategory.OperationStopped,
        BulkErrorKind.Timeout => ErrorCategory.OperationTimeout,
        _ => ErrorCategory.NotSpecified,
    };

    private sealed class QueueReporter : IBulkReporter
    {
        private readonly BlockingCollection<Action> _queue;
        private readonly Cmdlet _owner;

        public QueueReporter(BlockingCollection<Action> queue, Cmdlet owner)
        {
            _queue = queue;
            _owner = owner;
        }

        public void Verbose(string message) => Post(c => c.WriteVerbose(message));

        public void Warning(string message) => Post(c => c.WriteWarning(message));

        public void Progress(ProgressUpdate u) => Post(c =>
        {
            var record = new ProgressRecord(u.ActivityId, u.Activity, string.IsNullOrEmpty(u.Status) ? " " : u.Status)
            {
                PercentComplete = Math.Clamp(u.PercentComplete, -1, 100),
                SecondsRemaining = u.SecondsRemaining,
                ParentActivityId = u.ParentActivityId,
                CurrentOperation = u.CurrentOperation,
                RecordType = u.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            };
            c.WriteProgress(record);
        });

        private void Post(Action<Cmdlet> action)
        {
            try
            {
                _queue.Add(() => action(_owner));
            }
            catch (InvalidOperationException)
            {
                // The work has finished and the queue is closed: late reports are dropped.
            }
        }
    }
}
