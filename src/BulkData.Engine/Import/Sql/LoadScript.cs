using System.Text;
using System.Text.RegularExpressions;

namespace BulkData.Engine.Import.Sql;

/// <summary>One <c>COPY public.&lt;table&gt; (&lt;columns&gt;) FROM '$BULK_DIR/&lt;file&gt;' WITH (&lt;options&gt;)</c> of a load script.</summary>
public sealed record LoadScriptEntry(string Schema, string Table, IReadOnlyList<string> Columns, string FileName, string Options, CopyDialect Dialect, int Line);

/// <summary>
/// The publisher's <c>load-bulk-data-&lt;date&gt;.sh</c>: for each table, the COPY (or psql's <c>\COPY</c>) it runs,
/// inside a bash double-quoted <c>psql --command "..."</c>. Its table, column list and options state the dump's
/// CSV dialect. The script is read as bash would read it: comments, line continuations, single- and double-quoted
/// words spanning lines (the exporter's column lists run over many lines), the escapes of double quotes. Nothing
/// in it is run: <c>$BULK_DIR</c> stays as written, and a backtick inside double quotes is taken as a character,
/// not as a command substitution (the exporter's template of 2024-08 to 2025-01 wrote <c>QUOTE \'`\'</c> there).
/// </summary>
public static partial class LoadScript
{
    [GeneratedRegex(@"(?<![\w\\])\\?COPY\s+(?:(?<schema>""(?:[^""]|"""")+""|[A-Za-z_][\w$]*)\.)?(?<table>""(?:[^""]|"""")+""|[A-Za-z_][\w$]*)\s*\((?<cols>[^)]*)\)\s*FROM\s+'(?<file>[^']*)'\s*(?:WITH\s*)?\((?<opts>(?:[^()']|'(?:[^']|'')*')*)\)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
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
        bool psql = false;
        bool commandName = true;
        foreach (var word in Words(script.Replace("\r\n", "\n")))
        {
            // Only the arguments of psql are SQL; a leading NAME=value is an assignment, not the command.
            if (word.StartsCommand)
            {
                commandName = true;
                psql = false;
            }

            if (commandName)
            {
                if (AssignmentPattern().IsMatch(word.Text))
                {
                    continue;
                }

                commandName = false;
                psql = Path.GetFileName(word.Text) == "psql";
                continue;
            }

            if (!psql || word.Text.IndexOf("COPY", StringComparison.OrdinalIgnoreCase) < 0)
            {
                continue;
            }

            foreach (Match m in CopyPattern().Matches(word.Text))
            {
                int line = word.Lines[m.Index];
                string where = $"{sourceName ?? "load script"} line {line}";
                string schema = m.Groups["schema"].Success ? Unquote(m.Groups["schema"].Value) : "public";
                string table = Unquote(m.Groups["table"].Value);
                var columns = SplitColumns(m.Groups["cols"].Value);
                string file = m.Groups["file"].Value;
                int slash = file.LastIndexOf('/');
                file = slash >= 0 ? file[(slash + 1)..] : file;
                string options = Regex.Replace(BashQuotedLiterals(m.Groups["opts"].Value), @"\s+", " ").Trim();
                var dialect = CopyDialect.ParseOptions(options, where);
                entries.Add(new LoadScriptEntry(schema, table, columns, file, options, dialect, line));
            }
        }

        return entries;
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*=", RegexOptions.CultureInvariant)]
    private static partial Regex AssignmentPattern();

    /// <summary>One shell word after quote removal, with the script line of each of its characters; the first word of a command starts it.</summary>
    private sealed record Word(string Text, int[] Lines, bool StartsCommand);

    /// <summary>
    /// The words of a bash script, as bash splits them before running anything: unquoted blanks separate
    /// words, newlines and <c>;</c> <c>&amp;</c> <c>|</c> end commands, <c>#</c> at the start of a word
    /// begins a comment, a backslash-newline joins lines, quotes group text and are removed.
    /// </summary>
    private static IEnumerable<Word> Words(string s)
    {
        var text = new StringBuilder();
        var lines = new List<int>();
        bool inWord = false;
        bool newCommand = true;
        int line = 1;
        int i = 0;

        void Add(char c, int at)
        {
            text.Append(c);
            lines.Add(at);
        }

        // A character inside quotes is literal, a newline included (it still counts as a line).
        void AddQuoted(char c)
        {
            Add(c, line);
            if (c == '\n')
            {
                line++;
            }
        }

        Word Take()
        {
            lines.Add(line);   // one past the end, for a match ending there
            var w = new Word(text.ToString(), lines.ToArray(), newCommand);
            text.Clear();
            lines.Clear();
            inWord = false;
            newCommand = false;
            return w;
        }

        while (i < s.Length)
        {
            char c = s[i];
            if (c is '\n' or ';' or '&' or '|' or '(' or ')')
            {
                if (inWord)
                {
                    yield return Take();
                }

                newCommand = true;
                line += c == '\n' ? 1 : 0;
                i++;
                continue;
            }

            if (c is ' ' or '\t' or '<' or '>')
            {
                if (inWord)
                {
                    yield return Take();
                }

                i++;
                continue;
            }

            if (c == '#' && !inWord)
            {
                while (i < s.Length && s[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            inWord = true;
            if (c == '\\')
            {
                if (i + 1 < s.Length && s[i + 1] == '\n')
                {
                    line++;   // a line continuation: nothing of it stays
                }
                else if (i + 1 < s.Length)
                {
                    Add(s[i + 1], line);
                }

                i += 2;
                continue;
            }

            if (c == '\'')
            {
                // Single quotes: everything literal up to the next single quote.
                i++;
                while (i < s.Length && s[i] != '\'')
                {
                    AddQuoted(s[i]);
                    i++;
                }

                i++;
                continue;
            }

            if (c == '"')
            {
                // Double quotes: a backslash escapes only $ ` " \ and a newline; the rest is literal.
                i++;
                while (i < s.Length && s[i] != '"')
                {
                    if (s[i] == '\\' && i + 1 < s.Length && s[i + 1] is '$' or '`' or '"' or '\\' or '\n')
                    {
                        if (s[i + 1] == '\n')
                        {
                            line++;
                        }
                        else
                        {
                            Add(s[i + 1], line);
                        }

                        i += 2;
                        continue;
                    }

                    AddQuoted(s[i]);
                    i++;
                }

                i++;
                continue;
            }

            Add(c, line);
            i++;
        }

        if (inWord)
        {
            yield return Take();
        }
    }

    /// <summary>
    /// The options as psql was meant to get them. The exporter's backtick template wrote <c>QUOTE \'`\'</c> inside
    /// double quotes, where bash keeps both backslashes: a literal opened by <c>\'</c> is closed by <c>\'</c>, and
    /// both stand for plain quotes. A literal opened by a plain quote is SQL as written (<c>ESCAPE '\'</c>).
    /// </summary>
    private static string BashQuotedLiterals(string options)
    {
        if (!options.Contains("\\'", StringComparison.Ordinal))
        {
            return options;
        }

        var sb = new StringBuilder(options.Length);
        bool inLiteral = false, openedByBackslash = false;
        for (int i = 0; i < options.Length; i++)
        {
            char c = options[i];
            bool backslashQuote = c == '\\' && i + 1 < options.Length && options[i + 1] == '\'';
            if (!inLiteral && backslashQuote)
            {
                sb.Append('\'');
                inLiteral = openedByBackslash = true;
                i++;
            }
            else if (inLiteral && openedByBackslash && backslashQuote)
            {
                sb.Append('\'');
                inLiteral = openedByBackslash = false;
                i++;
            }
            else if (c == '\'' && !(inLiteral && openedByBackslash))
            {
                sb.Append(c);
                inLiteral = !inLiteral;
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static List<string> SplitColumns(string list)
    {
        // Column names, possibly double-quoted ("position"), separated by commas and any white space (the
        // exporter's lists run over many lines, indented with tabs).
        var columns = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        foreach (char c in list)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }

            if (c == ',' && !quoted)
            {
                columns.Add(sb.ToString());
                sb.Clear();
                continue;
            }

            sb.Append(c);
        }

        columns.Add(sb.ToString());
        return columns.Select(c => c.Trim()).Where(c => c.Length > 0).Select(Unquote).ToList();
    }

    private static string Unquote(string identifier)
        => identifier.Length >= 2 && identifier[0] == '"' && identifier[^1] == '"' ? identifier[1..^1].Replace("\"\"", "\"") : identifier.ToLowerInvariant();
}
