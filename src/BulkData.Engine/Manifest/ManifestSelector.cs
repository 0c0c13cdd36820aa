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
/// real file before it), and sort largest first. <see cref="ManifestChooser"/> makes the choice one key at a time.
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

    internal static string DescribeStub(string key, long size)
        => size == EmptyBzip2StreamBytes ? $"'{key}' is a stub (14 bytes: an empty bzip2 stream, no CSV header; its export failed)"
            : $"'{key}' is a stub ({size} bytes: too small to hold a CSV header; its export failed)";

    /// <summary>The choice over a whole listing, in one pass (<see cref="ManifestChooser"/>).</summary>
    public static ManifestResult Select(IEnumerable<ListedObject> objects, BucketLocation location, ManifestSelection selection)
    {
        var chooser = new ManifestChooser(location, selection);
        foreach (var obj in objects)
        {
            chooser.Add(obj);
        }

        return chooser.Finish();
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
