using System.Text;
using System.Text.RegularExpressions;

namespace BulkData.Engine.Import.Sql;

/// <summary>
/// How a CSV file of the dump is written: what COPY ... FROM needs to read it back. The publisher's dialect changed
/// over the years (see the facts file): plain CSV, FORCE_QUOTE *, a backtick QUOTE, and now ESCAPE '\'.
/// FORCE_QUOTE only affects writing; a reader needs the quote and escape characters.
/// </summary>
public sealed partial record CopyDialect
{
    /// <summary>The current dialect: <c>FORMAT csv, HEADER, ENCODING 'utf8', ESCAPE '\'</c>.</summary>
    public static readonly CopyDialect Escape = new() { Name = "Escape", Quote = '"', EscapeChar = '\\' };

    /// <summary>2024-12-31: <c>QUOTE '`'</c> and no escape (the quote doubles).</summary>
    public static readonly CopyDialect Backtick = new() { Name = "Backtick", Quote = '`', EscapeChar = '`' };

    /// <summary>RFC 4180: double quotes, doubled inside quoted values.</summary>
    public static readonly CopyDialect Rfc4180 = new() { Name = "Rfc4180", Quote = '"', EscapeChar = '"' };

    public string Name { get; init; } = "Custom";

    public char Delimiter { get; init; } = ',';

    public char Quote { get; init; } = '"';

    public char EscapeChar { get; init; } = '"';

    public bool Header { get; init; } = true;

    public string Encoding { get; init; } = "UTF8";

    /// <summary>The NULL string, when not the default (an unquoted empty field).</summary>
    public string? Null { get; init; }

    /// <summary>A dialect by name (Escape, ForceQuote, Backtick, Rfc4180); ForceQuote (the 2023-07-18 to 2024-07 exports: FORCE_QUOTE *, no ESCAPE) reads as RFC 4180.</summary>
    public static CopyDialect FromName(string name) => name.Trim().ToLowerInvariant() switch
    {
        "escape" or "current" => Escape,
        "forcequote" or "force_quote" => Rfc4180 with { Name = "ForceQuote" },
        "backtick" => Backtick,
        "rfc4180" or "csv" or "plain" => Rfc4180,
        _ => throw new BulkDataException(BulkErrorKind.InvalidArgument, $"Unknown CSV dialect '{name}': expected Escape, ForceQuote, Backtick or Rfc4180.", name),
    };

    [GeneratedRegex(@"^\s*(?<name>[A-Za-z_]+)(?:\s+(?<value>'(?:[^']|'')*'|[^,\s]+|\*))?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex OptionPattern();

    /// <summary>
    /// Reads COPY's option list as a load script states it (<c>FORMAT csv, ENCODING utf8, QUOTE '`', HEADER</c>).
    /// Options that only matter when writing (FORCE_QUOTE) are accepted and ignored.
    /// </summary>
    public static CopyDialect ParseOptions(string options, string? source = null)
    {
        var d = Rfc4180 with { Name = "Custom", Header = false };
        bool escapeGiven = false;
        foreach (var part in SplitOptions(options))
        {
            var m = OptionPattern().Match(part);
            if (!m.Success)
            {
                throw new BulkDataException(BulkErrorKind.InvalidData, $"{source ?? "COPY options"}: cannot read the COPY option '{part}' in '{options}'.", source);
            }

            string name = m.Groups["name"].Value.ToUpperInvariant();
            string raw = m.Groups["value"].Success ? m.Groups["value"].Value : "";
            string value = raw.StartsWith('\'') ? raw[1..^1].Replace("''", "'") : raw;
            switch (name)
            {
                case "FORMAT":
                    if (!value.Equals("csv", StringComparison.OrdinalIgnoreCase))
                    {
                        throw new BulkDataException(BulkErrorKind.InvalidData, $"{source ?? "COPY options"}: FORMAT {value} is not supported, only csv.", source);
                    }

                    break;
                case "HEADER":
                    d = d with { Header = raw.Length == 0 || value.ToLowerInvariant() is "true" or "on" or "1" or "match" };
                    break;
                case "QUOTE":
                    d = d with { Quote = Single(value, name, options, source) };
                    break;
                case "ESCAPE":
                    d = d with { EscapeChar = Single(value, name, options, source) };
                    escapeGiven = true;
                    break;
                case "DELIMITER":
                    d = d with { Delimiter = Single(value, name, options, source) };
                    break;
                case "ENCODING":
                    d = d with { Encoding = value.Replace("-", "").ToUpperInvariant() };
                    break;
                case "NULL":
                    d = d with { Null = value };
                    break;
                case "FORCE_QUOTE":
                case "FORCE_NOT_NULL":
                case "FORCE_NULL":
                case "FREEZE":
                    break;
                default:
                    throw new BulkDataException(BulkErrorKind.InvalidData, $"{source ?? "COPY options"}: the COPY option {name} is not supported.", source);
            }
        }

        if (!escapeGiven)
        {
            d = d with { EscapeChar = d.Quote };
        }

        string known = d.Quote == '"' && d.EscapeChar == '\\' ? "Escape" : d.Quote == '`' && d.EscapeChar == '`' ? "Backtick" : d.Quote == '"' && d.EscapeChar == '"' ? "Rfc4180" : "Custom";
        return d with { Name = known };
    }

    private static char Single(string value, string option, string options, string? source)
        => value.Length == 1 ? value[0] : throw new BulkDataException(BulkErrorKind.InvalidData, $"{source ?? "COPY options"}: {option} must be one character in '{options}'.", source);

    private static IEnumerable<string> SplitOptions(string options)
    {
        var sb = new StringBuilder();
        bool quoted = false;
        foreach (char c in options)
        {
            if (c == '\'')
            {
                quoted = !quoted;
            }

            if (c == ',' && !quoted)
            {
                if (sb.ToString().Trim().Length > 0)
                {
                    yield return sb.ToString().Trim();
                }

                sb.Clear();
                continue;
            }

            sb.Append(c);
        }

        if (sb.ToString().Trim().Length > 0)
        {
            yield return sb.ToString().Trim();
        }
    }

    private static string Literal(char c) => c == '\'' ? "''''" : $"'{c}'";

    /// <summary>The WITH (...) list for COPY ... FROM STDIN.</summary>
    public string ToCopyOptions()
    {
        var sb = new StringBuilder("FORMAT csv");
        if (Header)
        {
            sb.Append(", HEADER");
        }

        sb.Append(", ENCODING '").Append(Encoding).Append('\'');
        sb.Append(", DELIMITER ").Append(Literal(Delimiter));
        sb.Append(", QUOTE ").Append(Literal(Quote));
        sb.Append(", ESCAPE ").Append(Literal(EscapeChar));
        if (Null is not null)
        {
            sb.Append(", NULL '").Append(Null.Replace("'", "''")).Append('\'');
        }

        return sb.ToString();
    }

    public override string ToString() => $"{Name} ({ToCopyOptions()})";
}
