using BulkData.Engine.Import;
using Npgsql;
using Xunit;

namespace BulkData.Engine.Tests.Import.Online;

/// <summary>-Online's disk rule (StagingSpace): the estimate, the refusal, and a plain warning when free space cannot be checked.</summary>
public class StagingSpaceTests
{
    [SkippableFact]
    public async Task A_server_not_on_this_machine_gets_the_estimate_and_a_warning_that_free_space_was_not_checked()
    {
        await using var c = new NpgsqlConnection(ImportTestEnvironment.RequirePg());
        await c.OpenAsync();
        var tables = new[] { "pg_catalog.pg_class", "pg_catalog.pg_attribute", "public.no_such_table" };
        long expected;
        await using (var cmd = new NpgsqlCommand("SELECT pg_total_relation_size('pg_catalog.pg_class') + pg_total_relation_size('pg_catalog.pg_attribute')", c))
        {
            expected = Convert.ToInt64(await cmd.ExecuteScalarAsync());
        }

        var remote = await StagingSpace.MeasureAsync(c, "db.example.org", false, tables, CancellationToken.None);
        Assert.Equal(expected, remote.Needed);
        Assert.Equal(2, remote.Tables);
        Assert.False(remote.Checked);
        Assert.Null(remote.Free);
        Assert.Equal("the server db.example.org is not on this machine, and SQL cannot tell free disk space", remote.Where);
        Assert.Null(StagingSpace.Shortfall(remote, "cl", false));
        var warning = StagingSpace.UncheckedWarning(remote, "cl");
        Assert.NotNull(warning);
        Assert.StartsWith("-Online could not check the free space for the staging generation (the server db.example.org is not on this machine", warning);
        Assert.Contains($"it needs about {expected:N0} bytes in database cl, the size of the live tables it replaces", warning);
        Assert.Contains("free space could not be checked: the server db.example.org", StagingSpace.Summary(remote, "cl"));

        // The test server is on this machine: measured (it runs as a superuser, which may read data_directory).
        var local = await StagingSpace.MeasureAsync(c, "127.0.0.1", true, tables, CancellationToken.None);
        Assert.Equal(expected, local.Needed);
        Assert.True(local.Checked, local.Where);
        Assert.True(local.Free > 0);
        Assert.Null(StagingSpace.UncheckedWarning(local, "cl"));
        Assert.Contains($"{local.Free:N0} bytes free at {local.Where}", StagingSpace.Summary(local, "cl"));
    }

    [Fact]
    public void A_shortfall_refuses_naming_both_sizes_unless_forced()
    {
        var tight = new SpaceEstimate(5_000, 3, 4_999, "/srv/pg");
        var e = StagingSpace.Shortfall(tight, "cl", false);
        Assert.NotNull(e);
        Assert.Equal(BulkErrorKind.InsufficientSpace, e.Kind);
        Assert.Equal("-Online needs about 5,000 bytes for the staging generation of 3 table(s) in database cl, but /srv/pg has 4,999 bytes free; nothing was loaded. Free space, or give -Force to try anyway.", e.Message);
        Assert.Null(StagingSpace.Shortfall(tight, "cl", true));
        Assert.Null(StagingSpace.Shortfall(tight with { Free = 5_000 }, "cl", false));
        Assert.Null(StagingSpace.UncheckedWarning(tight, "cl"));
    }
}
