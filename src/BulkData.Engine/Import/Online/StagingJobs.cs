using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;

namespace BulkData.Engine.Import;

/// <summary>One build step of the staging generation as a job of the import's schedule.</summary>
internal sealed record StagingJob(PostDataJob Job, BuildStep Step);

/// <summary>
/// The build steps of a staging generation (<see cref="StagingCopy.BuildSteps"/>) as post-data jobs of the one
/// schedule (<see cref="Schedule.ImportScheduler"/>), so -Online builds them as a fresh import builds its post-data:
/// an index or a key (check, primary, unique, exclusion) starts as soon as its table's staging load committed,
/// beside the loads of the others; a foreign key (NOT VALID) after every index and key of its table and of its
/// parent when the parent is in the dump; its validation after it; triggers (and their disabled state) one at a
/// time after everything else. Jobs name the live tables (schema.name, as the table jobs do), which the scheduler
/// matches with the loads; the statements name the staging copies. A job's id is its table, kind and name: the
/// same live definition gives the same ids.
/// </summary>
internal static class StagingJobs
{
    public static IReadOnlyList<StagingJob> Build(string stagingSchema, IReadOnlyList<LiveTable> live)
    {
        var inDump = live.ToDictionary(t => t.Qualified, t => (t.DefName, StagingCopy.StagingSql(stagingSchema, t)), StringComparer.OrdinalIgnoreCase);
        var keysOf = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        var builds = new List<StagingJob>();
        var foreignKeys = new List<(BuildStep Step, string? References)>();
        var validations = new List<StagingJob>();
        var last = new List<StagingJob>();
        foreach (var t in live)
        {
            var (first, keys, triggers) = StagingCopy.BuildSteps(stagingSchema, t, inDump);
            var ids = keysOf[t.Qualified] = new List<string>();
            foreach (var step in first)
            {
                var kind = step.Kind == "index" ? PostDataJobKind.Index : PostDataJobKind.Key;
                var job = new PostDataJob(IdOf(step), kind, t.Qualified, kind == PostDataJobKind.Key ? step.Name : null, null, Statement(step.Sql), Array.Empty<string>());
                builds.Add(new StagingJob(job, step));
                ids.Add(job.Id);
            }

            var references = t.ForeignKeys.ToDictionary(f => f.Name, f => f.References, StringComparer.Ordinal);
            foreach (var step in keys)
            {
                foreignKeys.Add((step, references.GetValueOrDefault(step.Name)));
            }

            string? previous = last.Count == 0 ? null : last[^1].Job.Id;
            foreach (var step in triggers)
            {
                var job = new PostDataJob(IdOf(step), PostDataJobKind.Other, t.Qualified, null, null, Statement(step.Sql), previous is null ? Array.Empty<string>() : new[] { previous });
                last.Add(new StagingJob(job, step));
                previous = job.Id;
            }
        }

        var fkJobs = new List<StagingJob>();
        foreach (var (step, references) in foreignKeys)
        {
            // The unique key it points to, and no lock conflict with the builds of either table.
            var deps = new List<string>(keysOf[step.Table]);
            if (references is not null && !string.Equals(references, step.Table, StringComparison.OrdinalIgnoreCase) && keysOf.TryGetValue(references, out var parentKeys))
            {
                deps.AddRange(parentKeys);
            }

            var job = new PostDataJob(IdOf(step), PostDataJobKind.ForeignKey, step.Table, step.Name, references, Statement(step.Sql), deps);
            fkJobs.Add(new StagingJob(job, step));
            if (step.ValidateSql is not null)
            {
                validations.Add(new StagingJob(
                    new PostDataJob(job.Id + ":validate", PostDataJobKind.Validate, step.Table, step.Name, references, Statement(step.ValidateSql), new[] { job.Id }),
                    step));
            }
        }

        return builds.Concat(fkJobs).Concat(validations).Concat(last).ToList();
    }

    private static string IdOf(BuildStep step) => $"{step.Table} {step.Kind} {step.Name}";

    private static SqlStatement Statement(string sql) => new(sql, 0, StatementKind.Sql);
}
