using BulkData.Engine.Import.Tables;

namespace BulkData.Engine.Import.Schedule;

/// <summary>
/// How many COPY streams a table of a fresh load gets: only the largest table of the run, and only when its file
/// is at least <see cref="MinimumBytes"/>: its share of the run's bytes times -ThrottleLimit, rounded up, at least 1
/// and at most -ThrottleLimit - 1 (opinions, 71 % of the bytes: 12 of 16 connections; 1 of 2). One connection is
/// always left to the other tables and the post-data jobs: with all of them (2 of 2, measured) every other table and
/// every index waited for the largest table to end. -CopyStreams (an option; tests) forces the count for the
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

        return Math.Clamp((int)Math.Ceiling((double)job.Bytes / total * throttleLimit), 1, Math.Max(1, throttleLimit - 1));
    }
}
