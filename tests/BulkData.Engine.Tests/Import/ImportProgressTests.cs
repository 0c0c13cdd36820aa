using BulkData.Engine.Import;
using Xunit;

namespace BulkData.Engine.Tests.Import;

public class ImportProgressTests
{
    [Fact]
    public void Progress_says_tables_done_of_total_the_rate_and_the_time_left()
    {
        var (status, percent, left) = ImportProgress.Of(25L * 1024 * 1024, 100L * 1024 * 1024, 3, 8, TimeSpan.FromSeconds(10));
        Assert.Equal(25, percent);
        Assert.Equal(30, left);
        Assert.Equal("3 of 8 tables done; 25.0 MiB of 100.0 MiB read, 2.5 MiB/s, 30s left", status);
    }

    [Fact]
    public void Before_any_byte_there_is_no_rate_and_no_time_left()
    {
        var (status, percent, left) = ImportProgress.Of(0, 1000, 0, 2, TimeSpan.FromSeconds(3));
        Assert.Equal(0, percent);
        Assert.Equal(-1, left);
        Assert.Equal("0 of 2 tables done; 0 B of 1000 B read", status);
    }

    [Fact]
    public void Hours_left_are_shown_as_hours_and_minutes()
    {
        var (status, _, left) = ImportProgress.Of(1000, 1000L * 3600 * 2 + 1000, 0, 1, TimeSpan.FromSeconds(1));
        Assert.Equal(7200, left);
        Assert.EndsWith(", 2h 00m left", status);
    }

    [Fact]
    public void A_table_bar_shows_read_of_its_file_received_from_the_bucket_and_decoded_with_rates_and_time_left()
    {
        var (status, percent, left) = ImportProgress.OfTable(new ImportFlow(10L << 20, 40L << 20, 12L << 20, 50L << 20), TimeSpan.FromSeconds(5));
        Assert.Equal(25, percent);
        Assert.Equal(15, left);
        Assert.Equal("10.0 MiB of 40.0 MiB read, 2.0 MiB/s, 15s left; 12.0 MiB received from the bucket; 50.0 MiB of CSV decoded and loaded, 10.0 MiB/s", status);
    }

    [Fact]
    public void The_overall_bar_adds_tables_done_and_a_local_import_says_nothing_of_the_network()
    {
        var (status, _, _) = ImportProgress.Of(new ImportFlow(10L << 20, 40L << 20, null, 50L << 20), 1, 3, TimeSpan.FromSeconds(5));
        Assert.Equal("1 of 3 tables done; 10.0 MiB of 40.0 MiB read, 2.0 MiB/s, 15s left; 50.0 MiB of CSV decoded and loaded, 10.0 MiB/s", status);
        Assert.DoesNotContain("received", status);
    }
}
