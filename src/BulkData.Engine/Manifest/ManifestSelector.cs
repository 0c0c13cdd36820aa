using System.Text.RegularExpressions;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Manifest;

/// <summary>One object as a listing returns it.</summary>
public sealed record ListedObject(string Key, long Size, string ETag, DateTime LastModified);

/// <summary>How to choose among the listed files.</summary>
public sealed record ManifestSelection
{
    /// <summary>Wildcard patterns (<c>*</c>, <c>?</c>) of datasets to keep; empty keeps all.</summary>
    public IReadOnlyList<string> Include { get; init; } = Array.Empty<string>();

    /// <summary>Wildcard patterns of datasets to drop.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = Array.Empty<string>();

    /// <summary>Keep only dumps on or before this date.</summary>
    public DateTime? AsOf { get; init; }

    /// <summary>Keep every dump's file, not only the newest of each dataset.</summary>
    public bool AllVersions { get; init; }

    /// <summary>Keep stubs (failed exports) as candidates instead of choosing the newest real file.</summary>
    public bool IncludeStub { get; init; }
}

/// <summary>The chosen entries and what the choice noticed on the way.</summary>
public sealed record ManifestResult(IReadOnlyList<ManifestEntry> Entries, IReadOnlyList<string> Notes, int ObjectsListed, int DeltasSkipped);

/// <summary>
/// The rules for turning a bucket listing into a manifest: skip <c>.delta</c> files and undated names,
/// group keys by dataset, attach a schema or load script dated a day or two after its CSVs to that dump,
/// keep the newest real file of each dataset (on or before <c>AsOf</c>; a stub gives way to the newest
/// real file before it), and sort largest first.
/// </summary>
public static class ManifestSelector
{
    /// <summary>How many days after a dump's CSVs its schema and load script may be dated.</summary>
    public const int CompanionWindowDays = 3;

    /// <summary>What a failed export uploads: an empty bzip2 stream (<c>BZh9</c> and the end-of-stream marker), no CSV header at all.</summary>
    public const long EmptyBzip2StreamBytes = 14;

    /// <summary>The smallest bzip2 stream that holds one byte (of a CSV header): anything smaller holds none.</summary>
    public const long SmallestBzip2WithData = 37;

    /// <summary>
    /// A stub: a data file too small to hold a CSV header, as a failed export leaves it (the 14-byte empty
    /// bzip2 stream; a .bz2 below <see cref="SmallestBzip2WithData"/> bytes, or an empty plain file).
    /// </summary>
    public static bool IsStub(string fileName, long size, EntryKind kind)
        => kind == EntryKind.Data && (fileName.EndsWith(".bz2", StringComparison.OrdinalIgnoreCase) ? size < SmallestBzip2WithData : size == 0);

    private static string DescribeStub(string key, long size)
        => size == EmptyBzip2StreamBytes ? $"'{key}' is a stub (14 bytes: an empty bzip2 stream, no CSV header; its export failed)"
            : $"'{key}' is a stub ({size} bytes: too small to hold a CSV header; its export failed)";

    public static ManifestResult Select(IEnumerable<ListedObject> objects, BucketLocation location, ManifestSelection selection)
    {
        var notes = new List<string>();
        int listed = 0, deltas = 0;
        var parsed = new List<(ListedObject Obj, string FileName, DumpFileName Name)>();
        foreach (var obj in objects)
        {
            listed++;
            if (obj.Key.EndsWith("/", StringComparison.Ordinal))
            {
                continue;
            }

            string fileName = obj.Key[(obj.Key.LastIndexOf('/') + 1)..];
            if (fileName.EndsWith(".delta", StringComparison.OrdinalIgnoreCase) || fileName.Contains(".delta.", StringComparison.OrdinalIgnoreCase))
            {
                deltas++;
                continue;
            }

            var name = DumpFileName.TryParse(fileName);
            if (name is null)
            {
                notes.Add($"Skipped '{obj.Key}': its name carries no dump date.");
                continue;
            }

            parsed.Add((obj, fileName, name));
        }

        // The dates on which CSV exports were written are the dumps; a schema or load script dated
        // shortly after the newest such date belongs to that dump.
        var dataDates = parsed.Where(p => p.Name.Kind == EntryKind.Data).Select(p => p.Name.Date).Distinct().OrderBy(d => d).ToArray();
        DateTime DumpOf(DumpFileName n)
        {
            if (n.Kind == EntryKind.Data)
            {
                return n.Date;
            }

            int i = Array.BinarySearch(dataDates, n.Date);
            if (i >= 0)
            {
                return dataDates[i];
            }

            int before = ~i - 1;
            return before >= 0 && (n.Date - dataDates[before]).TotalDays <= CompanionWindowDays ? dataDates[before] : n.Date;
        }

        var include = selection.Include.Select(WildcardToRegex).ToArray();
        var exclude = selection.Exclude.Select(WildcardToRegex).ToArray();
        var candidates = parsed
            .Select(p => (p.Obj, p.FileName, p.Name, Dump: DumpOf(p.Name)))
            .Where(p => selection.AsOf is null || p.Dump <= selection.AsOf.Value.Date)
            .Where(p => include.Length == 0 || include.Any(r => r.IsMatch(p.Name.Dataset)))
            .Where(p => !exclude.Any(r => r.IsMatch(p.Name.Dataset)))
            .ToList();

        bool Stub((ListedObject Obj, string FileName, DumpFileName Name, DateTime Dump) p) => IsStub(p.FileName, p.Obj.Size, p.Name.Kind);
        IEnumerable<(ListedObject Obj, string FileName, DumpFileName Name, DateTime Dump)> chosen;
        if (selection.AllVersions)
        {
            var stubs = candidates.Where(Stub).ToList();
            if (stubs.Count > 0)
            {
                notes.Add(selection.IncludeStub
                    ? $"{stubs.Count} stub(s) listed because of -IncludeStub (too small to hold a CSV header; their exports failed): {string.Join(", ", stubs.Select(p => p.Obj.Key))}."
                    : $"Skipped {stubs.Count} stub(s) (too small to hold a CSV header; their exports failed): {string.Join(", ", stubs.Select(p => p.Obj.Key))}.");
            }

            chosen = selection.IncludeStub ? candidates : candidates.Where(p => !Stub(p)).ToList();
        }
        else
        {
            // Newest per dataset; on the same date a compressed export wins over a plain one. A stub gives
            // way to the newest real file of its dataset, with a note naming both.
            var list = new List<(ListedObject Obj, string FileName, DumpFileName Name, DateTime Dump)>();
            var replaced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var g in candidates.GroupBy(p => p.Name.Dataset, StringComparer.OrdinalIgnoreCase))
            {
                var ordered = g.OrderByDescending(p => p.Dump).ThenByDescending(p => p.Name.Date)
                               .ThenByDescending(p => p.FileName.EndsWith(".bz2", StringComparison.OrdinalIgnoreCase))
                               .ThenByDescending(p => p.Obj.LastModified).ToList();
                var top = ordered[0];
                if (!Stub(top))
                {
                    list.Add(top);
                    continue;
                }

                var real = ordered.FirstOrDefault(p => !Stub(p));
                bool hasReal = real.Obj is not null;
                if (selection.IncludeStub)
                {
                    list.Add(top);
                    notes.Add($"{DescribeStub(top.Obj.Key, top.Obj.Size)}; listed because of -IncludeStub" +
                              (hasReal ? $" (the newest real file of dataset '{g.Key}' is '{real.Obj!.Key}')." : $" (dataset '{g.Key}' has no real file)."));
                }
                else if (hasReal)
                {
                    list.Add(real);
                    replaced.Add(g.Key);
                    notes.Add($"{DescribeStub(top.Obj.Key, top.Obj.Size)}; chose '{real.Obj!.Key}' of {real.Dump:yyyy-MM-dd} instead for dataset '{g.Key}'.");
                }
                else
                {
                    notes.Add($"{DescribeStub(top.Obj.Key, top.Obj.Size)}, and dataset '{g.Key}' has no real file on or before it: nothing chosen for it.");
                }
            }

            chosen = list;
            var newestDump = list.Where(c => c.Name.Kind == EntryKind.Data).Select(c => c.Dump).DefaultIfEmpty().Max();
            foreach (var stale in list.Where(c => c.Name.Kind == EntryKind.Data && c.Dump < newestDump && !replaced.Contains(c.Name.Dataset)).OrderBy(c => c.Name.Dataset))
            {
                notes.Add($"Dataset '{stale.Name.Dataset}' is not in the dump of {newestDump:yyyy-MM-dd}; its newest file is from {stale.Dump:yyyy-MM-dd} ({stale.Obj.Key}).");
            }
        }

        var entries = chosen
            .Select(p => new ManifestEntry
            {
                Dataset = p.Name.Dataset,
                DumpDate = p.Dump,
                FileDate = p.Name.Date,
                Key = p.Obj.Key,
                FileName = p.FileName,
                Size = p.Obj.Size,
                ETag = p.Obj.ETag.Trim('"'),
                LastModified = p.Obj.LastModified,
                Kind = p.Name.Kind,
                IsStub = Stub(p),
                Bucket = location.Bucket,
                Region = location.Region,
                EndpointUrl = location.EndpointUrl,
            })
            .OrderByDescending(e => e.Size)
            .ThenBy(e => e.Key, StringComparer.Ordinal)
            .ToList();

        return new ManifestResult(entries, notes, listed, deltas);
    }

    /// <summary>PowerShell-style wildcard (<c>*</c>, <c>?</c>, <c>[a-z]</c>), case-insensitive, whole name.</summary>
    public static Regex WildcardToRegex(string pattern)
    {
        var sb = new System.Text.StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '*': sb.Append(".*"); break;
                case '?': sb.Append('.'); break;
                case '[':
                    int close = pattern.IndexOf(']', i + 1);
                    if (close > i + 1)
                    {
                        sb.Append('[').Append(pattern, i + 1, close - i - 1).Append(']');
                        i = close;
                    }
                    else
                    {
                        sb.Append(Regex.Escape("["));
                    }

                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }

        return new Regex(sb.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }
}
