namespace BulkData.Engine.Import;

/// <summary>
/// What Invoke-BulkImport's progress bar says: bytes read of the total, tables done of the total, the rate since
/// the start, and the time left at that rate (pure, so it is tested on its own).
/// </summary>
internal static class ImportProgress
{
    public static (string Status, int Percent, int SecondsRemaining) Of(long bytesRead, long totalBytes, int tablesDone, int tablesTotal, TimeSpan elapsed)
    {
        int percent = totalBytes > 0 ? (int)Math.Clamp(bytesRead * 100 / totalBytes, 0, 100) : -1;
        double seconds = elapsed.TotalSeconds;
        double rate = seconds >= 0.5 && bytesRead > 0 ? bytesRead / seconds : 0;
        int left = rate > 0 && totalBytes >= bytesRead ? (int)Math.Min(int.MaxValue, Math.Ceiling((totalBytes - bytesRead) / rate)) : -1;
        string rateText = rate > 0 ? $", {ByteSize.Format((long)rate)}/s" : "";
        string leftText = left >= 0 ? $", {FormatDuration(TimeSpan.FromSeconds(left))} left" : "";
        return ($"{tablesDone} of {tablesTotal} tables done; {ByteSize.Format(bytesRead)} of {ByteSize.Format(totalBytes)} read{rateText}{leftText}", percent, left);
    }

    private static string FormatDuration(TimeSpan t)
        => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m {t.Seconds:00}s" : $"{t.Seconds}s";
}
