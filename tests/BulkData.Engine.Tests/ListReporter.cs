namespace BulkData.Engine.Tests;

/// <summary>
/// The reporter the engine tests hand to the code under test: it keeps every verbose message and warning (a warning
/// as "WARNING: " and its text) and every progress update, and can act on an update at the exact point it is reported.
/// </summary>
internal sealed class ListReporter : IBulkReporter
{
    public List<string> Messages { get; } = new();

    public List<ProgressUpdate> Updates { get; } = new();

    /// <summary>Called with every progress update, on the thread that reports it.</summary>
    public Action<ProgressUpdate>? OnProgress { get; init; }

    public void Verbose(string message)
    {
        lock (Messages)
        {
            Messages.Add(message);
        }
    }

    public void Warning(string message) => Verbose("WARNING: " + message);

    public void Progress(ProgressUpdate update)
    {
        lock (Updates)
        {
            Updates.Add(update);
        }

        OnProgress?.Invoke(update);
    }
}
