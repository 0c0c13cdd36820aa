using System.Text.RegularExpressions;

namespace BulkData.Engine.Import.Sql;

internal enum StatementKind
{
    /// <summary>An SQL statement for the server, with its terminating semicolon.</summary>
    Sql,

    /// <summary>A psql meta-command (<c>\connect</c>, <c>\restrict</c>, <c>\set</c>...): one line, for the client.</summary>
    MetaCommand,
}

/// <summary>One statement of a script: its text (leading comments removed), the 1-based line it starts on, and its kind.</summary>
internal sealed record SqlStatement(string Text, int Line, StatementKind Kind)
{
    /// <summary>The statement on one line, shortened to <paramref name="max"/> characters: for messages.</summary>
    public string Summary(int max = 160)
    {
        string flat = Regex.Replace(Text, @"\s+", " ").Trim();
        return flat.Length <= max ? flat : flat[..(max - 3)] + "...";
    }
}

/// <summary>
/// Splits an SQL script the way psql does, without psql: statements end at a semicolon outside quotes, dollar
/// quotes, comments and parentheses (and outside a <c>BEGIN ATOMIC ... END</c> routine body); a line that starts
/// with a backslash is a psql meta-command that ends at the end of that line. <c>SET standard_conforming_strings</c>
/// in the script is followed, so backslashes in <c>'...'</c> strings are read as the server would read them.
/// </summary>
internal static partial class SqlScriptSplitter
{
    public static IReadOnlyList<SqlStatement> Split(string script) => Split(script, null);

    /// <summary>Splits <paramref name="script"/>; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="BulkDataException">A quote or comment is not closed (InvalidData, naming the line).</exception>
    public static IReadOnlyList<SqlStatement> Split(string script, string? sourceName)
    {
        ArgumentNullException.ThrowIfNull(script);
        var result = new List<SqlStatement>();
        var lexer = new SqlLexer(script);
        int start = -1;
        int startLine = 0;
        int parenDepth = 0;
        int beginDepth = 0;
        var firstWords = new List<string>(4);
        try
        {
            while (lexer.Next() is { } token)
            {
                switch (token.Kind)
                {
                    case SqlTokenKind.Comment:
                        continue;
                    case SqlTokenKind.MetaCommand:
                        if (start >= 0)
                        {
                            throw new BulkDataException(
                                BulkErrorKind.InvalidData,
                                $"{Where(sourceName, token.Line)}: the psql meta-command '{script[token.Start..token.End].Trim()}' interrupts the statement that starts at line {startLine}; finish the statement with ';' first.",
                                sourceName);
                        }

                        result.Add(new SqlStatement(script[token.Start..token.End].TrimEnd(), token.Line, StatementKind.MetaCommand));
                        continue;
                }

                if (start < 0)
                {
                    start = token.Start;
                    startLine = token.Line;
                    parenDepth = 0;
                    beginDepth = 0;
                    firstWords.Clear();
                }

                if (token.Kind == SqlTokenKind.Word)
                {
                    TrackRoutineBody(script, token, firstWords, parenDepth, ref beginDepth);
                    continue;
                }

                if (token.Kind != SqlTokenKind.Symbol)
                {
                    continue;
                }

                char c = script[token.Start];
                if (c == '(')
                {
                    parenDepth++;
                }
                else if (c == ')')
                {
                    parenDepth = Math.Max(0, parenDepth - 1);
                }
                else if (c == ';' && parenDepth == 0 && beginDepth == 0)
                {
                    AddStatement(result, script[start..token.End], startLine, lexer);
                    start = -1;
                }
            }
        }
        catch (SqlLexException e)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"{Where(sourceName, e.Line)}: {e.Message}; the script cannot be split into statements.", sourceName, e);
        }

        if (start >= 0)
        {
            // psql sends what is left at the end of the file as a last statement.
            AddStatement(result, script[start..].TrimEnd(), startLine, lexer);
        }

        return result;
    }

    internal static string Where(string? sourceName, int line) => sourceName is null ? $"line {line}" : $"{sourceName} line {line}";

    private static void AddStatement(List<SqlStatement> result, string text, int line, SqlLexer lexer)
    {
        if (text == ";")
        {
            return;
        }

        result.Add(new SqlStatement(text, line, StatementKind.Sql));
        if (StandardConformingStringsSetting(text) is { } on)
        {
            lexer.StandardConformingStrings = on;
        }
        else if (CopyFromStdin().IsMatch(text))
        {
            // psql reads the lines after it as data, up to a line "\.": they are not statements.
            lexer.SkipCopyData();
        }
    }

    // A routine with an SQL-standard body (CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC ... END) holds
    // semicolons that do not end the statement; psql follows BEGIN/CASE/END nesting for those statements only.
    private static void TrackRoutineBody(string script, SqlToken token, List<string> firstWords, int parenDepth, ref int beginDepth)
    {
        string word = script[token.Start..token.End].ToUpperInvariant();
        if (firstWords.Count < 4)
        {
            firstWords.Add(word);
        }

        bool routine = firstWords.Count >= 3 && firstWords[0] == "CREATE"
            && (firstWords[1] is "FUNCTION" or "PROCEDURE"
                || firstWords.Count == 4 && firstWords[1] == "OR" && firstWords[2] == "REPLACE" && firstWords[3] is "FUNCTION" or "PROCEDURE");
        if (!routine || parenDepth != 0)
        {
            return;
        }

        switch (word)
        {
            case "BEGIN":
                beginDepth++;
                break;
            case "CASE" when beginDepth > 0:
                beginDepth++;
                break;
            case "END" when beginDepth > 0:
                beginDepth--;
                break;
        }
    }

    [GeneratedRegex(@"^COPY\b.*\bFROM\s+STDIN\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex CopyFromStdin();

    [GeneratedRegex(@"^\s*SET\s+(?:SESSION\s+)?standard_conforming_strings\s*(?:=|\bTO\b)\s*'?(?<v>on|off|true|false|1|0|default)'?\s*;?\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SetScs();

    [GeneratedRegex(@"^\s*SELECT\s+(?:pg_catalog\.)?set_config\(\s*'standard_conforming_strings'\s*,\s*'(?<v>on|off|true|false)'", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SetConfigScs();

    private static bool? StandardConformingStringsSetting(string statement)
    {
        var m = SetScs().Match(statement);
        if (!m.Success)
        {
            m = SetConfigScs().Match(statement);
        }

        if (!m.Success)
        {
            return null;
        }

        return m.Groups["v"].Value.ToLowerInvariant() is "on" or "true" or "1" or "default";
    }
}
