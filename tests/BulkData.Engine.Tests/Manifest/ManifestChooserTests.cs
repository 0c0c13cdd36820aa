using System.Runtime.CompilerServices;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;
using Xunit;

namespace BulkData.Engine.Tests.Manifest;

/// <summary>The one-pass choice: the same answers as choosing over the whole listing, without keeping it.</summary>
public class ManifestChooserTests
{
    private static readonly BucketLocation Location = new() { EndpointUrl = "http://127.0.0.1:1" };
    private static readonly DateTime Modified = new(2026, 10, 1, 0, 0, 0, DateTimeKind.Utc);

    private static ListedObject Obj(string name, long size, DateTime? modified = null) =>
        new("bulk-data/" + name, size, "\"abc\"", modified ?? Modified);

    [Fact]
    public void Keys_it_will_not_choose_are_not_kept()
    {
        var asOf = new DateTime(2020, 1, 1).AddDays(5 * 900);
        var chooser = new ManifestChooser(Location, new ManifestSelection { AsOf = asOf });
        var refs = Feed(chooser, 3000);

        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);

        // Per dataset: the best file, the best real one and one per day of the window after AsOf.
        int alive = refs.Count(r => r.TryGetTarget(out _));
        Assert.InRange(alive, 1, 3 * (2 + ManifestSelector.CompanionWindowDays));
        var result = chooser.Finish();
        Assert.Equal(3000, result.ObjectsListed);
        Assert.Equal(new[] { $"courts-{asOf:yyyy-MM-dd}.csv.bz2", $"opinions-{asOf:yyyy-MM-dd}.csv.bz2", $"schema-{asOf.AddDays(2):yyyy-MM-dd}.sql" }, result.Entries.Select(e => e.FileName).Order());
        Assert.All(result.Entries, e => Assert.Equal(asOf, e.DumpDate));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakReference<ListedObject>> Feed(ManifestChooser chooser, int count)
    {
        var refs = new List<WeakReference<ListedObject>>();
        var day = new DateTime(2020, 1, 1);
        for (int i = 0; i < count; i++)
        {
            var date = day.AddDays(5 * (i / 3));
            string name = (i % 3) switch
            {
                0 => $"opinions-{date:yyyy-MM-dd}.csv.bz2",
                1 => $"courts-{date:yyyy-MM-dd}.csv.bz2",
                _ => $"schema-{date.AddDays(2):yyyy-MM-dd}.sql",
            };
            var obj = Obj(name, 1000 + i);
            refs.Add(new WeakReference<ListedObject>(obj));
            chooser.Add(obj);
        }

        return refs;
    }

    [Fact]
    public void Undated_keys_are_named_ten_times_then_counted()
    {
        var objects = Enumerable.Range(0, 25).Select(i => Obj($"readme{i}.html", 5)).Append(Obj("courts-2026-09-30.csv.bz2", 100));

        var result = ManifestSelector.Select(objects, Location, new ManifestSelection());

        Assert.Equal(BucketLister.NamedSkips, result.Notes.Count(n => n.EndsWith("its name carries no dump date.", StringComparison.Ordinal)));
        Assert.Contains("Skipped 'bulk-data/readme0.html': its name carries no dump date.", result.Notes);
        Assert.DoesNotContain(result.Notes, n => n.Contains("readme10.html"));
        Assert.Contains("Skipped 15 more keys whose names carry no dump date (25 in all).", result.Notes);
        Assert.Equal("courts-2026-09-30.csv.bz2", Assert.Single(result.Entries).FileName);
    }

    [Fact]
    public void AllVersions_names_ten_stubs_then_counts_them()
    {
        var objects = Enumerable.Range(0, 12).Select(i => Obj($"d{i:00}-2026-09-30.csv.bz2", 14)).Append(Obj("courts-2026-09-30.csv.bz2", 100)).ToArray();

        var skipped = ManifestSelector.Select(objects, Location, new ManifestSelection { AllVersions = true });
        var listed = ManifestSelector.Select(objects, Location, new ManifestSelection { AllVersions = true, IncludeStub = true });

        Assert.Equal("courts-2026-09-30.csv.bz2", Assert.Single(skipped.Entries).FileName);
        string note = Assert.Single(skipped.Notes);
        Assert.StartsWith("Skipped 12 stub(s)", note);
        Assert.Contains("bulk-data/d09-2026-09-30.csv.bz2, and 2 more.", note);
        Assert.DoesNotContain("d10", note);
        Assert.Equal(13, listed.Entries.Count);
        Assert.StartsWith("12 stub(s) listed because of -IncludeStub", Assert.Single(listed.Notes));
    }

    [Fact]
    public void AsOf_takes_a_schema_dated_after_it_only_when_it_belongs_to_a_dump_on_or_before_it()
    {
        var asOf = new DateTime(2026, 6, 30);
        var belongs = new[] { Obj("courts-2026-06-30.csv.bz2", 100), Obj("schema-2026-06-20.sql", 10), Obj("schema-2026-07-02.sql", 11), Obj("schema-2026-07-04.sql", 12) };
        var later = new[] { Obj("courts-2026-06-26.csv.bz2", 100), Obj("courts-2026-07-01.csv.bz2", 100), Obj("schema-2026-06-20.sql", 10), Obj("schema-2026-07-02.sql", 11) };

        var a = ManifestSelector.Select(belongs, Location, new ManifestSelection { AsOf = asOf }).Entries.Single(e => e.Kind == EntryKind.Schema);
        var b = ManifestSelector.Select(later, Location, new ManifestSelection { AsOf = asOf }).Entries.Single(e => e.Kind == EntryKind.Schema);

        Assert.Equal(("schema-2026-07-02.sql", asOf), (a.FileName, a.DumpDate));
        // 07-02 belongs to the CSVs of 07-01, after AsOf; 06-20 is the newest schema of a dump on or before it.
        Assert.Equal(("schema-2026-06-20.sql", new DateTime(2026, 6, 20)), (b.FileName, b.DumpDate));
    }

    [Fact]
    public void On_the_same_date_compressed_wins_then_the_later_modified_then_the_first_listed()
    {
        var objects = new[]
        {
            Obj("courts-2026-09-30.csv", 100, Modified.AddDays(1)),
            Obj("x/courts-2026-09-30.csv.bz2", 100),
            Obj("y/courts-2026-09-30.csv.bz2", 100),
            Obj("z/courts-2026-09-30.csv.bz2", 100, Modified.AddHours(1)),
            Obj("w/courts-2026-09-30.csv.bz2", 100, Modified.AddHours(1)),
        };

        Assert.Equal("bulk-data/z/courts-2026-09-30.csv.bz2", Assert.Single(ManifestSelector.Select(objects, Location, new ManifestSelection()).Entries).Key);
    }

    /// <summary>Random listings (several datasets, stubs, plain and compressed, schemas in and out of the window), every selection: the one-pass choice equals the rules applied to the whole sorted listing.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Equals_the_choice_over_the_whole_listing(int seed)
    {
        var random = new Random(seed);
        string[] datasets = { "courts", "dockets", "opinions", "schema", "load-bulk-data", "readme" };
        var start = new DateTime(2026, 1, 1);
        var objects = Enumerable.Range(0, 400).Select(i =>
        {
            string d = datasets[random.Next(datasets.Length)];
            var date = start.AddDays(random.Next(60));
            string ext = d switch { "schema" => ".sql", "load-bulk-data" => ".sh", "readme" => ".txt", _ => random.Next(3) == 0 ? ".csv" : ".csv.bz2" };
            long size = random.Next(4) == 0 ? 14 : 100 + random.Next(1000);
            return Obj($"p{random.Next(3)}/{d}-{date:yyyy-MM-dd}{ext}", size, Modified.AddMinutes(random.Next(5)));
        }).ToArray();

        foreach (var all in new[] { false, true })
        {
            foreach (var stub in new[] { false, true })
            {
                for (int asOfDay = -1; asOfDay < 60; asOfDay += 7)
                {
                    var selection = new ManifestSelection { AllVersions = all, IncludeStub = stub, AsOf = asOfDay < 0 ? null : start.AddDays(asOfDay) };
                    var expected = Reference(objects, selection);
                    var actual = ManifestSelector.Select(objects, Location, selection).Entries.Select(e => (e.Key, e.DumpDate, e.IsStub)).ToList();
                    Assert.Equal(expected, actual);
                }
            }
        }
    }

    /// <summary>The rules over the whole listing: each file's dump from every CSV date, then per dataset the order by dump, date, compression and time.</summary>
    private static List<(string Key, DateTime Dump, bool Stub)> Reference(ListedObject[] objects, ManifestSelection s)
    {
        var parsed = objects.Select(o => (O: o, F: o.Key[(o.Key.LastIndexOf('/') + 1)..])).Select(p => (p.O, p.F, N: DumpFileName.TryParse(p.F)!)).ToList();
        var csvDates = parsed.Where(p => p.N.Kind == EntryKind.Data).Select(p => p.N.Date).ToHashSet();
        DateTime DumpOf(DumpFileName n) => n.Kind == EntryKind.Data ? n.Date
            : Enumerable.Range(0, ManifestSelector.CompanionWindowDays + 1).Select(b => n.Date.AddDays(-b)).Where(csvDates.Contains).DefaultIfEmpty(n.Date).First();
        var candidates = parsed.Select(p => (p.O, p.F, p.N, Dump: DumpOf(p.N), Stub: ManifestSelector.IsStub(p.F, p.O.Size, p.N.Kind)))
            .Where(p => s.AsOf is null || p.Dump <= s.AsOf.Value).ToList();
        var chosen = s.AllVersions
            ? candidates.Where(p => s.IncludeStub || !p.Stub).ToList()
            : candidates.GroupBy(p => p.N.Dataset).Select(g =>
            {
                var ordered = g.OrderByDescending(p => p.Dump).ThenByDescending(p => p.N.Date).ThenByDescending(p => p.F.EndsWith(".bz2")).ThenByDescending(p => p.O.LastModified).ToList();
                return s.IncludeStub || !ordered[0].Stub ? ordered[0] : ordered.FirstOrDefault(p => !p.Stub);
            }).Where(p => p.O is not null).ToList();
        return chosen.OrderByDescending(p => p.O.Size).ThenBy(p => p.O.Key, StringComparer.Ordinal).Select(p => (p.O.Key, p.Dump, p.Stub)).ToList();
    }
}
