using System.Globalization;
using System.Text.RegularExpressions;

namespace BulkData.Engine.Manifest;

/// <summary>
/// The publisher's naming: <c>&lt;dataset&gt;-&lt;YYYY-MM-DD&gt;&lt;extension&gt;</c>, for example
/// <c>opinion-clusters-2024-12-31.csv.bz2</c>, <c>schema-2024-12-31.sql</c>, <c>load-bulk-data-2024-12-31.sh</c>.
/// </summary>
internal sealed partial record DumpFileName(string Dataset, DateTime Date, string Extension, EntryKind Kind)
{
    [GeneratedRegex(@"^(?<dataset>.+?)-(?<date>\d{4}-\d{2}-\d{2})(?<ext>\.[A-Za-z0-9.]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>Parses a file name (not a key); null when it is not a dated dump file.</summary>
    public static DumpFileName? TryParse(string fileName)
    {
        var match = Pattern().Match(fileName);
        if (!match.Success)
        {
            return null;
        }

        if (!DateTime.TryParseExact(match.Groups["date"].Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return null;
        }

        string ext = match.Groups["ext"].Value;
        string dataset = match.Groups["dataset"].Value;
        var kind = Classify(dataset, ext);
        return new DumpFileName(DatasetCatalog.NormalizeDataset(dataset, kind), date, ext, kind);
    }

    private static EntryKind Classify(string dataset, string ext)
    {
        string e = ext.ToLowerInvariant();
        if (dataset.Equals("schema", StringComparison.OrdinalIgnoreCase) && (e == ".sql" || e == ".sql.bz2"))
        {
            return EntryKind.Schema;
        }

        if (dataset.StartsWith("load-bulk-data", StringComparison.OrdinalIgnoreCase) && e == ".sh")
        {
            return EntryKind.LoadScript;
        }

        return e is ".csv" or ".csv.bz2" or ".csv.gz" ? EntryKind.Data : EntryKind.Other;
    }
}
