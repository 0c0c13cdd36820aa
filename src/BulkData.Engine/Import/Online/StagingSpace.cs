using BulkData.Engine.Import.Schedule;
using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// The space a staging generation needs (about what the live tables it replaces take now: heap, TOAST, indexes)
/// and, where it can be measured, the free space beside the database. <see cref="Checked"/> is false when the
/// free space could not be measured (<see cref="Where"/> says why).
/// </summary>
internal sealed record SpaceEstimate(long Needed, int Tables, long? Free, string Where)
{
    public bool Checked => Free is not null;
}

/// <summary>
/// The one place of -Online's disk rule: the staging generation needs <c>sum(pg_total_relation_size)</c> of the
/// live tables; SQL cannot tell free disk space, so the free bytes are measured only when the server runs on this
/// machine (a loopback host or a Unix socket) and the role may read where the database lives (superuser or
/// pg_read_all_settings): the file system of its tablespace (<c>pg_tablespace_location</c>, else
/// <c>data_directory</c>). A shortfall refuses the import unless -Force; an unchecked estimate is a warning that
/// says so plainly. -Plan -Online reports the same estimate (<see cref="PlanStepAsync"/>).
/// </summary>
internal static class StagingSpace
{
    public static async Task<SpaceEstimate> MeasureAsync(NpgsqlConnection c, string host, bool serverIsLocal, IReadOnlyList<string> tables, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT COALESCE(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint, count(to_regclass(t))::int FROM unnest($1::text[]) t", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.ToArray() });
        long needed;
        int existing;
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            await r.ReadAsync(ct).ConfigureAwait(false);
            needed = r.GetInt64(0);
            existing = r.GetInt32(1);
        }

        if (!serverIsLocal)
        {
            return new SpaceEstimate(needed, existing, null, $"the server {host} is not on this machine, and SQL cannot tell free disk space");
        }

        string? dir;
        try
        {
            await using var loc = new NpgsqlCommand("SELECT COALESCE(NULLIF(pg_tablespace_location(d.dattablespace), ''), current_setting('data_directory')) FROM pg_database d WHERE d.datname = current_database()", c);
            dir = await loc.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return new SpaceEstimate(needed, existing, null, "the role may not read the server's data_directory (superuser or pg_read_all_settings may)");
        }

        if (string.IsNullOrEmpty(dir))
        {
            return new SpaceEstimate(needed, existing, null, "the server did not name its data directory");
        }

        try
        {
            return new SpaceEstimate(needed, existing, new DriveInfo(dir).AvailableFreeSpace, dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return new SpaceEstimate(needed, existing, null, $"{dir} cannot be measured from here ({e.Message})");
        }
    }

    /// <summary>One line: what is needed, and what is free or why that is not known.</summary>
    public static string Summary(SpaceEstimate e, string database)
        => $"the staging generation needs about {e.Needed:N0} bytes in database {database} (pg_total_relation_size of the {e.Tables} live table(s) it replaces); "
           + (e.Free is { } free ? $"{free:N0} bytes free at {e.Where}" : $"free space could not be checked: {e.Where}");

    /// <summary>The refusal of a staging generation that does not fit, or null (it fits, it was not measured, or -Force).</summary>
    public static BulkDataException? Shortfall(SpaceEstimate e, string database, bool force)
        => e.Free is { } free && free < e.Needed && !force
            ? new BulkDataException(BulkErrorKind.InsufficientSpace,
                $"-Online needs about {e.Needed:N0} bytes for the staging generation of {e.Tables} table(s) in database {database}, but {e.Where} has {free:N0} bytes free; nothing was loaded. Free space, or give -Force to try anyway.", database)
            : null;

    /// <summary>The warning of an estimate whose free space could not be checked, or null.</summary>
    public static string? UncheckedWarning(SpaceEstimate e, string database)
        => e.Checked
            ? null
            : $"-Online could not check the free space for the staging generation ({e.Where}): it needs about {e.Needed:N0} bytes in database {database}, the size of the live tables it replaces. Make sure the server has that room: a load that fills the disk fails, and the live tables stay as they were.";

    /// <summary>
    /// The plan's step for the staging space (-Plan -Online): measured read-only on the target database when it
    /// can be reached (no lock beyond reading sizes, nothing created), else the rule and why it was not measured.
    /// </summary>
    public static async Task<ImportPlanStep> PlanStepAsync(PgConnectionInfo connection, ImportPlan plan, int order, CancellationToken ct)
    {
        var tables = plan.Jobs.Select(j => $"{QualifiedName.QuoteIdentifier(j.Schema)}.{QualifiedName.QuoteIdentifier(j.Table)}").Distinct(StringComparer.Ordinal).ToList();
        var conn = connection.WithDatabase(plan.Database).WithoutPooling();
        string rule = "the staging generation needs about the size of the live tables it replaces (sum of pg_total_relation_size: heap, TOAST, indexes), measured and checked against the free space when the import starts";
        SpaceEstimate estimate;
        try
        {
            await using var c = conn.CreateConnection();
            await BulkImporter.OpenAsync(c, conn, ct).ConfigureAwait(false);
            estimate = await MeasureAsync(c, conn.Host, MaintenanceSettings.IsLocalHost(conn.Host), tables, ct).ConfigureAwait(false);
        }
        catch (BulkDataException e) when (!ct.IsCancellationRequested)
        {
            return new ImportPlanStep { Order = order, Database = plan.Database, Step = "StagingSpace", Detail = $"{rule}; not measured now: {e.Message}" };
        }
        catch (PostgresException e) when (!ct.IsCancellationRequested)
        {
            return new ImportPlanStep { Order = order, Database = plan.Database, Step = "StagingSpace", Detail = $"{rule}; not measured now: {PgErrors.Translate(e, $"reading the table sizes of {plan.Database}", plan.Database).Message}" };
        }

        string verdict = estimate.Free is { } free
            ? free >= estimate.Needed ? "; it fits" : "; it does not fit: the import refuses to start without -Force"
            : "; the import warns and starts anyway";
        return new ImportPlanStep
        {
            Order = order, Database = plan.Database, Step = "StagingSpace", Bytes = estimate.Needed,
            Detail = $"{Summary(estimate, plan.Database)}{verdict}",
        };
    }
}
