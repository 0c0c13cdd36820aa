using BulkData.Engine.DumpFiles;

namespace BulkData.Engine.Transfer;

/// <summary>
/// Expands one downloaded .bz2 file with the engine's bzip2 decoder (through its temporary name, every block
/// CRC and the stream CRC checked). A failure for lack of space pauses like a download and starts the file
/// again when space returns (an extraction in progress is not resumable).
/// </summary>
internal static class Extraction
{
    public static async Task<ExpandResult> ExpandAsync(FetchItem item, string expandedPath, bool keepCompressed, DiskGuard guard, FetchProgress progress, IBulkReporter reporter, CancellationToken ct)
    {
        using var bar = progress.Begin($"Extracting {item.FileName}", item.Entry.Size, 0, overall: false);
        while (true)
        {
            if (guard.ShouldPause())
            {
                bar.Status = "paused: low disk space";
                await guard.WaitForRoomAsync(false, ct).ConfigureAwait(false);
                bar.Status = null;
            }

            try
            {
                var options = new ExpandOptions { KeepCompressed = keepCompressed, Force = true };
                return await FileExpander.ExpandAsync(item.FinalPath, expandedPath, options, new Progress(bar), ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (DiskGuard.IsNoSpace(ex))
            {
                reporter.Verbose($"{item.FileName}: extraction ran out of space; it starts again when space returns.");
                bar.Status = "paused: disk full";
                bar.SetDone(0);
                await guard.WaitForRoomAsync(true, ct).ConfigureAwait(false);
                bar.Status = null;
            }
        }
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; would post to a context).</summary>
    private sealed class Progress : IProgress<long>
    {
        private readonly FetchProgress.Bar _bar;

        public Progress(FetchProgress.Bar bar) => _bar = bar;

        public void Report(long value) => _bar.SetDone(value);
    }
}
