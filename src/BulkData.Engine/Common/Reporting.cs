namespace BulkData.Engine;

/// <summary>A progress bar's state, as the engine sees it; cmdlets turn it into Write-Progress.</summary>
public sealed record ProgressUpdate(
    int ActivityId,
    string Activity,
    string Status,
    int PercentComplete = -1,
    int SecondsRemaining = -1,
    int ParentActivityId = -1,
    string? CurrentOperation = null,
    bool Completed = false);

/// <summary>
/// How engine work reports while it runs. Implementations must be thread-safe: engine work runs on
/// worker threads, and the cmdlets forward to PowerShell's Write* methods on the pipeline thread only.
/// </summary>
public interface IBulkReporter
{
    void Verbose(string message);

    void Warning(string message);

    void Progress(ProgressUpdate update);
}

/// <summary>Reports nowhere; for callers that do not listen.</summary>
public sealed class NullReporter : IBulkReporter
{
    public static readonly NullReporter Instance = new();

    public void Verbose(string message)
    {
    }

    public void Warning(string message)
    {
    }

    public void Progress(ProgressUpdate update)
    {
    }
}
