using System.Text.RegularExpressions;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Manifest;

/// <summary>
/// The choice of <see cref="ManifestSelector"/> made in one pass over a listing, one key at a time, so that a
/// listing of any length costs memory for what is chosen, not for what is listed. Within a dataset, ordering by
/// dump and then by file date is the same as ordering by file date (a file's dump is never later than a later
/// file's), so per dataset it keeps only the best file and the best real (not stub) file, and, with
/// <see cref="ManifestSelection.AsOf"/>, the best file of each of the <see cref="ManifestSelector.CompanionWindowDays"/>
/// days after it (a schema or load script dated then may still belong to a dump on or before it; whether it does
/// is known once every CSV date is). The CSV dates are kept as one bit per day. With
/// <see cref="ManifestSelection.AllVersions"/> every candidate is output, so its memory is that of its output.
/// Keys whose names carry no date and stubs skipped by -AllVersions are named up to
/// <see cref="BucketLister.NamedSkips"/> times, then counted.
/// </summary>
public sealed class ManifestChooser
{
    private readonly BucketLocation _location;
    private readonly ManifestSelection _selection;
    private readonly Regex[] _include;
    private readonly Regex[] _exclude;
    private readonly DateTime? _asOf;
    private readonly DaySet _dataDates = new();
    private readonly List<string> _notes = new();
    private readonly Dictionary<string, DatasetChoice> _datasets = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<DatasetChoice> _datasetOrder = new();
    private readonly List<Candidate> _allVersions = new();
    private readonly List<string> _namedStubs = new();
    private int _listed, _deltas, _undated, _stubs;

    public ManifestChooser(BucketLocation location, ManifestSelection selection)
    {
        _location = location;
        _selection = selection;
        _include = selection.Include.Select(ManifestSelector.WildcardToRegex).ToArray();
        _exclude = selection.Exclude.Select(ManifestSelector.WildcardToRegex).ToArray();
        _asOf = selection.AsOf?.Date;
    }

    /// <summary>Objects offered so far.</summary>
    public int Listed => _listed;

    /// <summary>Takes one listed object into the choice; it is kept only while it may still be chosen.</summary>
    public void Add(ListedObject obj)
    {
        _listed++;
        if (obj.Key.EndsWith("/", StringComparison.Ordinal))
        {
            return;
        }

        string fileName = obj.Key[(obj.Key.LastIndexOf('/') + 1)..];
        if (fileName.EndsWith(".delta", StringComparison.OrdinalIgnoreCase) || fileName.Contains(".delta.", StringComparison.OrdinalIgnoreCase))
        {
            _deltas++;
            return;
        }

        var name = DumpFileName.TryParse(fileName);
        if (name is null)
        {
            if (++_undated <= BucketLister.NamedSkips)
            {
                _notes.Add($"Skipped '{obj.Key}': its name carries no dump date.");
            }

            return;
        }

        // Every CSV date counts for where a schema or load script belongs, whatever is chosen.
        if (name.Kind == EntryKind.Data)
        {
            _dataDates.Add(name.Date);
        }

        if ((_include.Length > 0 && !_include.Any(r => r.IsMatch(name.Dataset))) || _exclude.Any(r => r.IsMatch(name.Dataset)))
        {
            return;
        }

        // A CSV's dump is its date; any other file's dump is its date or up to the window before it.
        int lateDays = 0;
        if (_asOf is { } asOf && name.Date > asOf)
        {
            lateDays = (int)(name.Date - asOf).TotalDays;
            if (name.Kind == EntryKind.Data || lateDays > ManifestSelector.CompanionWindowDays)
            {
                return;
            }
        }

        var candidate = new Candidate(obj, fileName, name, ManifestSelector.IsStub(fileName, obj.Size, name.Kind));
        if (_selection.AllVersions)
        {
            if (candidate.IsStub)
            {
                if (++_stubs <= BucketLister.NamedSkips)
                {
                    _namedStubs.Add(obj.Key);
                }

                if (!_selection.IncludeStub)
                {
                    return;
                }
            }

            _allVersions.Add(candidate);
            return;
        }

        if (!_datasets.TryGetValue(name.Dataset, out var choice))
        {
            choice = new DatasetChoice(name.Dataset);
            _datasets.Add(name.Dataset, choice);
            _datasetOrder.Add(choice);
        }

        if (lateDays > 0)
        {
            choice.Late ??= new Candidate?[ManifestSelector.CompanionWindowDays];
            ref var slot = ref choice.Late[lateDays - 1];
            if (slot is null || Better(candidate, slot))
            {
                slot = candidate;
            }

            return;
        }

        if (choice.Top is null || Better(candidate, choice.Top))
        {
            choice.Top = candidate;
        }

        if (!candidate.IsStub && (choice.TopReal is null || Better(candidate, choice.TopReal)))
        {
            choice.TopReal = candidate;
        }
    }

    /// <summary>The choice over everything added.</summary>
    public ManifestResult Finish()
    {
        var notes = new List<string>(_notes);
        if (_undated > BucketLister.NamedSkips)
        {
            notes.Add($"Skipped {_undated - BucketLister.NamedSkips} more keys whose names carry no dump date ({_undated} in all).");
        }

        var chosen = new List<(Candidate C, DateTime Dump)>();
        if (_selection.AllVersions)
        {
            foreach (var c in _allVersions)
            {
                var dump = DumpOf(c.Name);
                if (_asOf is null || dump <= _asOf.Value)
                {
                    chosen.Add((c, dump));
                }
            }

            if (_stubs > 0)
            {
                string keys = string.Join(", ", _namedStubs) + (_stubs > _namedStubs.Count ? $", and {_stubs - _namedStubs.Count} more" : string.Empty);
                notes.Add(_selection.IncludeStub
                    ? $"{_stubs} stub(s) listed because of -IncludeStub (too small to hold a CSV header; their exports failed): {keys}."
                    : $"Skipped {_stubs} stub(s) (too small to hold a CSV header; their exports failed): {keys}.");
            }
        }
        else
        {
            // Newest per dataset; on the same date a compressed export wins over a plain one. A stub gives
            // way to the newest real file of its dataset, with a note naming both.
            var replaced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var g in _datasetOrder)
            {
                Candidate? top = null;
                if (g.Late is not null)
                {
                    // A later file beats every one on or before AsOf; it counts when its dump is on or before AsOf.
                    for (int i = g.Late.Length - 1; i >= 0 && top is null; i--)
                    {
                        if (g.Late[i] is { } late && DumpOf(late.Name) <= _asOf!.Value)
                        {
                            top = late;
                        }
                    }
                }

                top ??= g.Top;
                if (top is null)
                {
                    continue;
                }

                if (!top.IsStub)
                {
                    chosen.Add((top, DumpOf(top.Name)));
                    continue;
                }

                var real = g.TopReal;
                if (_selection.IncludeStub)
                {
                    chosen.Add((top, DumpOf(top.Name)));
                    notes.Add($"{ManifestSelector.DescribeStub(top.Obj.Key, top.Obj.Size)}; listed because of -IncludeStub" +
                              (real is not null ? $" (the newest real file of dataset '{g.Name}' is '{real.Obj.Key}')." : $" (dataset '{g.Name}' has no real file)."));
                }
                else if (real is not null)
                {
                    var dump = DumpOf(real.Name);
                    chosen.Add((real, dump));
                    replaced.Add(g.Name);
                    notes.Add($"{ManifestSelector.DescribeStub(top.Obj.Key, top.Obj.Size)}; chose '{real.Obj.Key}' of {dump:yyyy-MM-dd} instead for dataset '{g.Name}'.");
                }
                else
                {
                    notes.Add($"{ManifestSelector.DescribeStub(top.Obj.Key, top.Obj.Size)}, and dataset '{g.Name}' has no real file on or before it: nothing chosen for it.");
                }
            }

            var newestDump = chosen.Where(c => c.C.Name.Kind == EntryKind.Data).Select(c => c.Dump).DefaultIfEmpty().Max();
            foreach (var stale in chosen.Where(c => c.C.Name.Kind == EntryKind.Data && c.Dump < newestDump && !replaced.Contains(c.C.Name.Dataset)).OrderBy(c => c.C.Name.Dataset))
            {
                notes.Add($"Dataset '{stale.C.Name.Dataset}' is not in the dump of {newestDump:yyyy-MM-dd}; its newest file is from {stale.Dump:yyyy-MM-dd} ({stale.C.Obj.Key}).");
            }
        }

        var entries = chosen
            .Select(p => new ManifestEntry
            {
                Dataset = p.C.Name.Dataset,
                DumpDate = p.Dump,
                FileDate = p.C.Name.Date,
                Key = p.C.Obj.Key,
                FileName = p.C.FileName,
                Size = p.C.Obj.Size,
                ETag = p.C.Obj.ETag.Trim('"'),
                LastModified = p.C.Obj.LastModified,
                Kind = p.C.Name.Kind,
                IsStub = p.C.IsStub,
                Bucket = _location.Bucket,
                Region = _location.Region,
                EndpointUrl = _location.EndpointUrl,
            })
            .OrderByDescending(e => e.Size)
            .ThenBy(e => e.Key, StringComparer.Ordinal)
            .ToList();

        return new ManifestResult(entries, notes, _listed, _deltas);
    }

    /// <summary>
    /// The dump a file belongs to: a CSV's own date; a schema, load script or other file belongs to a CSV date
    /// on its date or up to <see cref="ManifestSelector.CompanionWindowDays"/> days before it, the latest such,
    /// else to its own date.
    /// </summary>
    private DateTime DumpOf(DumpFileName n)
    {
        if (n.Kind == EntryKind.Data)
        {
            return n.Date;
        }

        for (int back = 0; back <= ManifestSelector.CompanionWindowDays; back++)
        {
            if (n.Date.Ticks >= back * TimeSpan.TicksPerDay && _dataDates.Contains(n.Date.AddDays(-back)))
            {
                return n.Date.AddDays(-back);
            }
        }

        return n.Date;
    }

    /// <summary>Whether <paramref name="a"/> comes before <paramref name="b"/>: a later date, then compressed, then modified later. Ties keep the first listed.</summary>
    private static bool Better(Candidate a, Candidate b)
    {
        int byDate = a.Name.Date.CompareTo(b.Name.Date);
        if (byDate != 0)
        {
            return byDate > 0;
        }

        bool aBz2 = a.FileName.EndsWith(".bz2", StringComparison.OrdinalIgnoreCase);
        bool bBz2 = b.FileName.EndsWith(".bz2", StringComparison.OrdinalIgnoreCase);
        if (aBz2 != bBz2)
        {
            return aBz2;
        }

        return a.Obj.LastModified > b.Obj.LastModified;
    }

    private sealed record Candidate(ListedObject Obj, string FileName, DumpFileName Name, bool IsStub);

    private sealed class DatasetChoice(string name)
    {
        /// <summary>The dataset as first listed.</summary>
        public string Name { get; } = name;

        /// <summary>The best file on or before AsOf (of all, without it).</summary>
        public Candidate? Top { get; set; }

        /// <summary>The best of those that is not a stub.</summary>
        public Candidate? TopReal { get; set; }

        /// <summary>With AsOf: the best non-CSV file of each day of the window after it (index 0: the day after).</summary>
        public Candidate?[]? Late;
    }

    /// <summary>A set of calendar days, one bit each, allocated a year at a time: at most 46 bytes a year listed.</summary>
    private sealed class DaySet
    {
        private readonly ulong[]?[] _years = new ulong[]?[10000];

        public void Add(DateTime day)
        {
            var year = _years[day.Year] ??= new ulong[6];
            int bit = day.DayOfYear - 1;
            year[bit >> 6] |= 1UL << (bit & 63);
        }

        public bool Contains(DateTime day)
        {
            int bit = day.DayOfYear - 1;
            return _years[day.Year] is { } year && (year[bit >> 6] & (1UL << (bit & 63))) != 0;
        }
    }
}
