using System.Text;
using System.Text.RegularExpressions;

namespace BulkData.Engine.Import.Sql;

/// <summary>One <c>COPY public.&lt;table&gt; (&lt;columns&gt;) FROM '$BULK_DIR/&lt;file&gt;' WITH (&lt;options&gt;)</c> of a load script.</summary>
public sealed record LoadScriptEntry(string Schema, string Table, IReadOnlyList<string> Columns, string FileName, string Options, CopyDialect Dialect, int Line);

/// <summary>
/// The publisher's <c>load-bulk-data-&lt;date&gt;.sh</c>: for each table, the COPY it runs, inside a bash
/// double-quoted <c>psql --command "..."</c>. Its table, column list and options state the dump's CSV dialect.
/// </summary>
public static partial class LoadScript
{
    [GeneratedRegex(@"COPY\s+(?:(?<schema>""?[A-Za-z_][\w$]*""?)\.)?(?<table>""?[A-Za-z_][\w$]*""?)\s*\((?<cols>[^)]*)\)\s*FROM\s+'(?<file>[^']*)'\s*WITH\s*\((?<opts>(?:[^()']|'(?:[^']|'')*')*)\)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CopyPattern();

    /// <summary>Undoes bash double-quote escaping: <c>\`</c>, <c>\"</c>, <c>\\</c>, <c>\$</c> (and a backslash-newline).</summary>
    public static string UnescapeDoubleQuoted(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length && s[i + 1] is '`' or '"' or '\\' or '$' or '\n')
            {
                if (s[i + 1] != '\n')
                {
                    sb.Append(s[i + 1]);
                }

                i++;
                continue;
            }

            sb.Append(s[i]);
        }

        return sb.ToString();
    }

    public static IReadOnlyList<LoadScriptEntry> Load(string path) => Parse(ScriptFile.Read(path, "load script"), path);

    public static IReadOnlyList<LoadScriptEntry> Parse(string script, string? sourceName = null)
    {
        var entries = new List<LoadScriptEntry>();
        string[] lines = script.Replace("\r\n", "\n").Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n];
            if (line.TrimStart().StartsWith('#') || line.IndexOf("COPY", StringComparison.OrdinalIgnoreCase) < 0)
            {
                continue;
            }

            // The COPY sits in a double-quoted bash string: unescape what bash would.
            string text = line.Contains("\"") ? UnescapeDoubleQuoted(line) : line;
            var m = CopyPattern().Match(text);
            if (!m.Success)
            {
                continue;
            }

            string where = $"{sourceName ?? "load script"} line {n + 1}";
            string schema = m.Groups["schema"].Success ? Unquote(m.Groups["schema"].Value) : "public";
            string table = Unquote(m.Groups["table"].Value);
            var columns = m.Groups["cols"].Value.Split(',').Select(c => Unquote(c.Trim())).Where(c => c.Length > 0).ToList();
            string file = m.Groups["file"].Value;
            int slash = file.LastIndexOf('/');
            file = slash >= 0 ? file[(slash + 1)..] : file;
            string options = m.Groups["opts"].Value.Trim();
            var dialect = CopyDialect.ParseOptions(options, where);
            entries.Add(new LoadScriptEntry(schema, table, columns, file, options, dialect, n + 1));
        }

        return entries;
    }

    private static string Unquote(string identifier)
        => identifier.Length >= 2 && identifier[0] == '"' && identifier[^1] == '"' ? identifier[1..^1].Replace("\"\"", "\"") : identifier.ToLowerInvariant();
}
