namespace BulkData.Engine.Import;

/// <summary>What has gone through one table's load, or the whole import's, so far (bytes).</summary>
/// <param name="Read">Bytes of the file read (compressed for a .bz2), of <paramref name="Total"/>.</param>
/// <param name="Total">The file's size (all files' for the import).</param>
/// <param name="Received">Bytes received over the network (tables streamed from the bucket), or null when none is streamed.</param>
/// <param name="Decoded">CSV bytes decoded and handed to COPY.</param>
internal readonly record struct ImportFlow(long Read, long Total, long? Received, long Decoded);

/// <summary>
/// What Invoke-BulkImport's progress bars say (pure, so it is tested on its own): the overall bar, bytes read of the
/// total, tables done of the total, the rate since the start and the time left at that rate, then the bytes received
/// from the bucket and the CSV decoded and loaded, with its rate; each table's child bar the same for its own file.
/// </summary>
internal static class ImportProgress
{
    public static (string Status, int Percent, int SecondsRemaining) Of(long bytesRead, long totalBytes, int tablesDone, int tablesTotal, TimeSpan elapsed)
        => Of(new ImportFlow(bytesRead, totalBytes, null, 0), tablesDone, tablesTotal, elapsed);

    /// <summary>The overall bar: tables done of the total, then the flow (<see cref="OfTable"/>).</summary>
    public static (string Status, int Percent, int SecondsRemaining) Of(ImportFlow flow, int tablesDone, int tablesTotal, TimeSpan elapsed)
    {
        var (status, percent, left) = OfTable(flow, elapsed);
        return ($"{tablesDone} of {tablesTotal} tables done; {status}", percent, left);
    }

    /// <summary>
    /// A table's child bar (and the flow part of the overall bar): read of the total, rate, time left; then received
    /// from the bucket (streamed tables); then the CSV decoded and loaded, with its rate. The percent and the time left
    /// follow the bytes read, the only side whose total is known before the end.
    /// </summary>
    public static (string Status, int Percent, int SecondsRemaining) OfTable(ImportFlow flow, TimeSpan elapsed)
    {
        long read = flow.Read, total = flow.Total;
        int percent = total > 0 ? (int)Math.Clamp(read * 100 / total, 0, 100) : -1;
        double seconds = elapsed.TotalSeconds;
        double rate = seconds >= 0.5 && read > 0 ? read / seconds : 0;
        int left = rate > 0 && total >= read ? (int)Math.Min(int.MaxValue, Math.Ceiling((total - read) / rate)) : -1;
        string rateText = rate > 0 ? $", {ByteSize.Format((long)rate)}/s" : "";
        string leftText = left >= 0 ? $", {FormatDuration(TimeSpan.FromSeconds(left))} left" : "";
        string received = flow.Received is long r ? $"; {ByteSize.Format(r)} received from the bucket" : "";
        double decodedRate = seconds >= 0.5 && flow.Decoded > 0 ? flow.Decoded / seconds : 0;
        string decoded = flow.Decoded > 0 || flow.Received is not null
            ? $"; {ByteSize.Format(flow.Decoded)} of CSV decoded and loaded{(decodedRate > 0 ? $", {ByteSize.Format((long)decodedRate)}/s" : "")}"
            : "";
        return ($"{ByteSize.Format(read)} of {ByteSize.Format(total)} read{rateText}{leftText}{received}{decoded}", percent, left);
    }

    private static string FormatDuration(TimeSpan t)
        => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m {t.Seconds:00}s" : $"{t.Seconds}s";
}
