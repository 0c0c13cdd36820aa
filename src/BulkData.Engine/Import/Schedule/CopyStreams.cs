using BulkData.Engine.Import.Tables;

namespace BulkData.Engine.Import.Schedule;

/// <summary>
/// How many COPY streams a table of a fresh load gets: only the largest table of the run, and only when its file
/// is at least <see cref="MinimumBytes"/>: its share of the run's bytes times -ThrottleLimit, rounded up, at least 1
/// and at most -ThrottleLimit (opinions, 71 % of the bytes: 2 of 2 connections, 12 of 16). The other tables load in
/// one stream each beside it once it has its connections. -CopyStreams (an option; tests) forces the count for the
/// largest table whatever its size.
/// </summary>
internal static class CopyStreams
{
    public const long MinimumBytes = 32L << 20;

    public static int For(TableJob job, IReadOnlyList<TableJob> all, int throttleLimit, int forced)
    {
        var largest = all.MaxBy(j => j.Bytes);
        if (largest is null || !ReferenceEquals(largest, job))
        {
            return 1;
        }

        if (forced > 0)
        {
            return Math.Min(forced, throttleLimit);
        }

        long total = all.Sum(j => j.Bytes);
        if (job.Bytes < MinimumBytes || total <= 0)
        {
            return 1;
        }

        return Math.Clamp((int)Math.Ceiling((double)job.Bytes / total * throttleLimit), 1, throttleLimit);
    }
}
