using System.Collections.Concurrent;
using System.Management.Automation;
using BulkData.Engine;

namespace BulkData.Cmdlets;

/// <summary>
/// The shared binding of every BulkData cmdlet. <see cref="RunEngine{T}"/> is the one path engine work runs by: off
/// the pipeline thread, with whatever it reports or emits written here, on the pipeline thread, as it arrives; its
/// failures mapped by one policy (<see cref="IsExpected"/>) onto ErrorRecords; cancelled on Ctrl+C and when the
/// pipeline stops taking output (<c>Select-Object -First 1</c> downstream), and always waited for before the
/// cmdlet goes on. The cancellation source is disposed with the cmdlet.
/// </summary>
public abstract partial class BulkCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Cancelled when the user presses Ctrl+C (StopProcessing).</summary>
    protected CancellationToken Cancellation => _stop.Token;

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Runs <paramref name="work"/> and returns its result. An expected failure ends the cmdlet with an ErrorRecord
    /// for <paramref name="errorTarget"/> (or the error's own target); anything else is a bug and propagates.
    /// </summary>
    protected T RunEngine<T>(Func<IBulkReporter, Action<object>, CancellationToken, Task<T>> work, object? errorTarget)
    {
        if (!TryRun(work, out T result, out var error))
        {
            ThrowTerminatingError(ToErrorRecord(error!, errorTarget));
        }

        return result;
    }

    /// <summary><see cref="RunEngine{T}"/> for the binding helpers of this assembly.</summary>
    internal T RunEngineFor<T>(Func<IBulkReporter, Action<object>, CancellationToken, Task<T>> work, object? errorTarget) => RunEngine(work, errorTarget);

    protected void RunEngine(Func<IBulkReporter, Action<object>, CancellationToken, Task> work, object? errorTarget)
        => RunEngine<bool>(async (r, e, c) =>
        {
            await work(r, e, c).ConfigureAwait(false);
            return true;
        }, errorTarget);

    /// <summary>As <see cref="RunEngine{T}"/>, but an expected failure is written as a non-terminating error and false returned.</summary>
    protected bool TryRunEngine<T>(Func<IBulkReporter, Action<object>, CancellationToken, Task<T>> work, object? errorTarget, out T result)
    {
        if (TryRun(work, out result, out var error))
        {
            return true;
        }

        WriteError(ToErrorRecord(error!, errorTarget));
        return false;
    }

    /// <summary>
    /// The outcome callback of a run that writes each result as it arrives, preceded by its error for a failed item
    /// (a non-terminating error whose target <paramref name="errorTarget"/> names; <paramref name="errorId"/> replaces
    /// the error's own id when given).
    /// </summary>
    protected static OutcomeCallback<TResult> WriteOutcomes<TResult>(Action<object> emit, Func<TResult, object?> errorTarget, string? errorId = null)
        where TResult : notnull
        => (result, error) =>
        {
            if (error is not null)
            {
                emit(ToErrorRecord(error, errorTarget(result), errorId));
            }

            emit(result);
        };

    /// <summary>Writes a non-terminating error for an engine failure.</summary>
    protected void WriteBulkError(Exception ex, object? target)
        => WriteError(ToErrorRecord(ex, target));

    /// <summary>Ends the cmdlet with an engine failure.</summary>
    protected void ThrowBulkError(Exception ex, object? target)
        => ThrowTerminatingError(ToErrorRecord(ex, target));

    /// <summary>The one policy: the failures a user can meet (and read) end as ErrorRecords; anything else is a bug.</summary>
    internal static bool IsExpected(Exception ex)
        => ex is AggregateException agg
            ? agg.InnerExceptions.All(IsExpected)
            : ex is BulkDataException or OperationCanceledException or IOException or UnauthorizedAccessException;

    private bool TryRun<T>(Func<IBulkReporter, Action<object>, CancellationToken, Task<T>> work, out T result, out Exception? error)
    {
        using var run = Start(work, out var task);
        Drain(run);
        try
        {
            result = task.GetAwaiter().GetResult();
            error = null;
            return true;
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            result = default!;
            error = ex;
            return false;
        }
    }

    private static void Post(BlockingCollection<Action> queue, Action action)
    {
        try
        {
            queue.Add(action);
        }
        catch (InvalidOperationException)
        {
            // The work has finished and the queue is closed: late reports are dropped.
        }
    }

    internal static ErrorRecord ToErrorRecord(Exception ex, object? target, string? errorId = null)
    {
        if (ex is AggregateException agg && agg.InnerExceptions.Count == 1)
        {
            ex = agg.InnerExceptions[0];
        }

        if (ex is BulkDataException bulk)
        {
            return new ErrorRecord(bulk, errorId ?? bulk.ErrorId, CategoryOf(bulk.Kind), target ?? bulk.Target);
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
        BulkErrorKind.DatabaseAuthenticationFailed => ErrorCategory.AuthenticationError,
        BulkErrorKind.DatabaseUnreachable => ErrorCategory.ConnectionError,
        BulkErrorKind.ExternalCommandFailed => ErrorCategory.InvalidOperation,
        BulkErrorKind.Cancelled => ErrorCategory.OperationStopped,
        BulkErrorKind.Timeout => ErrorCategory.OperationTimeout,
        BulkErrorKind.InUse => ErrorCategory.ResourceBusy,
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

        private void Post(Action<Cmdlet> action) => BulkCmdlet.Post(_queue, () => action(_owner));
    }
}
