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
}

/// <summary>The chosen entries and what the choice noticed on the way.</summary>
public sealed record ManifestResult(IReadOnlyList<ManifestEntry> Entries, IReadOnlyList<string> Notes, int ObjectsListed, int DeltasSkipped);

/// <summary>
/// The rules for turning a bucket listing into a manifest: skip <c>.delta</c> files and undated names,
/// group keys by dataset, attach a schema or load script dated a day or two after its CSVs to that dump,
/// keep the newest file of each dataset (on or before <c>AsOf</c>), and sort largest first.
/// </summary>
public static class ManifestSelector
{
    /// <summary>How many days after a dump's CSVs its schema and load script may be dated.</summary>
    public const int CompanionWindowDays = 3;

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

        IEnumerable<(ListedObject Obj, string FileName, DumpFileName Name, DateTime Dump)> chosen;
        if (selection.AllVersions)
        {
            chosen = candidates;
        }
        else
        {
            // Newest per dataset; on the same date a compressed export wins over a plain one.
            chosen = candidates
                .GroupBy(p => p.Name.Dataset, StringComparer.OrdinalIgnoreCase)
                .Select(g => g.OrderByDescending(p => p.Dump).ThenByDescending(p => p.Name.Date)
                              .ThenByDescending(p => p.FileName.EndsWith(".bz2", StringComparison.OrdinalIgnoreCase))
                              .ThenByDescending(p => p.Obj.LastModified).First())
                .ToList();

            var newestDump = chosen.Where(c => c.Name.Kind == EntryKind.Data).Select(c => c.Dump).DefaultIfEmpty().Max();
            foreach (var stale in chosen.Where(c => c.Name.Kind == EntryKind.Data && c.Dump < newestDump).OrderBy(c => c.Name.Dataset))
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
