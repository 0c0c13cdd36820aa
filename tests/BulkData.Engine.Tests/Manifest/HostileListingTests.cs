using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;
using BulkData.Engine.Tests.Transfer;
using BulkData.TestKit;
using Xunit;

namespace BulkData.Engine.Tests.Manifest;

/// <summary>
/// Get-BulkManifest's engine against the test kit's hostile listing server (real HTTP on loopback, the real S3
/// client): a token that repeats, empty pages forever, keys no dump file has. Each ends in a clear error or a
/// safe skip with a warning; nothing outside the prefix's folder is ever chosen.
/// </summary>
public class HostileListingTests
{
    private static Task<ManifestResult> List(HostileListingServer server, List<string> warnings)
        => ManifestService.GetAsync(new BucketLocation { Bucket = "hostile", Region = "us-east-1", EndpointUrl = server.Endpoint }, "bulk-data/", new ManifestSelection(),
            null, new TransferRulesTests.ListReporter(warnings), CancellationToken.None);

    [Fact]
    public async Task A_continuation_token_sent_twice_stops_the_listing_naming_the_token_and_the_page()
    {
        await using var server = new HostileListingServer(HostileListing.RepeatingToken);
        var error = await Assert.ThrowsAsync<BulkDataException>(() => List(server, new List<string>()));
        Assert.Equal(BulkErrorKind.InvalidData, error.Kind);
        Assert.Contains("sent the continuation token 'page-2-token' a second time (page 2)", error.Message);
        Assert.Contains("going round in circles", error.Message);
        Assert.Equal(2, server.Pages);
    }

    [Fact]
    public async Task Empty_pages_that_never_end_stop_the_listing()
    {
        await using var server = new HostileListingServer(HostileListing.EmptyPagesForever);
        var error = await Assert.ThrowsAsync<BulkDataException>(() => List(server, new List<string>()));
        Assert.Equal(BulkErrorKind.InvalidData, error.Kind);
        Assert.Contains($"{BucketLister.MaxEmptyPagesInARow} empty pages in a row", error.Message);
        Assert.Equal(BucketLister.MaxEmptyPagesInARow, server.Pages);
    }

    [Fact]
    public async Task Keys_with_control_characters_absurd_lengths_or_climbing_paths_are_skipped_with_a_warning_each()
    {
        await using var server = new HostileListingServer(HostileListing.BadKeys);
        var warnings = new List<string>();
        var result = await List(server, warnings);
        // Only the good keys are chosen: the bad ones were newer (2026-12-31) and would otherwise have won.
        Assert.Equal(HostileListingServer.GoodKeys.OrderBy(k => k), result.Entries.Select(e => e.Key).OrderBy(k => k));
        Assert.Equal(HostileListingServer.BadKeys.Length, warnings.Count);
        Assert.Contains(warnings, w => w.Contains("'bulk-data/dockets\\u000a-2026-12-31.csv.bz2'") && w.Contains("control character U+000A"));
        Assert.Contains(warnings, w => w.Contains("control character U+0009"));
        Assert.Contains(warnings, w => w.Contains("2,029 bytes long, more than the 1,024 S3 allows") && w.Contains("characters)"));
        Assert.Equal(3, warnings.Count(w => w.Contains("outside the destination")));
        // Nothing a warning shows is a raw control character or a whole 2,000-character key.
        Assert.All(warnings, w => Assert.DoesNotContain(w, c => char.IsControl(c)));
        Assert.All(warnings, w => Assert.True(w.Length < 400, w));
    }

    [Fact]
    public void The_refusal_rule_keeps_every_real_name()
    {
        foreach (var key in new[] { "bulk-data/opinions-2026-09-30.csv.bz2", "bulk-data/schema-2024-12-31.sql", "bulk-data/people_db_race-2024-12-31.csv", "bulk-data/a..b-2026-09-30.csv.bz2" })
        {
            Assert.Null(BucketLister.Refusal(key, 1));
        }

        Assert.NotNull(BucketLister.Refusal("bulk-data/x\u007f-2026-09-30.csv.bz2", 1));
        Assert.NotNull(BucketLister.Refusal("bulk-data/opinions-2026-09-30.csv.bz2", -1));
        Assert.Null(BucketLister.Refusal("bulk-data/" + new string('é', 500), 1));
        Assert.NotNull(BucketLister.Refusal("bulk-data/" + new string('é', 510), 1));
    }
}
