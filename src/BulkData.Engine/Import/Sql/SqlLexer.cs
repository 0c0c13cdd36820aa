namespace BulkData.Engine.Import.Sql;

internal enum SqlTokenKind
{
    /// <summary>An unquoted identifier, keyword or number.</summary>
    Word,

    /// <summary>A double-quoted identifier (<c>"name"</c>, <c>U&amp;"name"</c>).</summary>
    QuotedIdentifier,

    /// <summary>A single-quoted string constant (standard, <c>E''</c>, <c>U&amp;''</c>, <c>B''</c>, <c>X''</c>).</summary>
    String,

    /// <summary>A dollar-quoted string constant (<c>$$...$$</c>, <c>$tag$...$tag$</c>).</summary>
    DollarString,

    /// <summary>Any other single character: punctuation or an operator character.</summary>
    Symbol,

    /// <summary>A <c>--</c> or (nested) <c>/* */</c> comment.</summary>
    Comment,

    /// <summary>A psql meta-command: a backslash first on its line, up to the end of that line.</summary>
    MetaCommand,
}

/// <summary>One lexical token: its kind, where it is in the text, and the 1-based line it starts on.</summary>
internal readonly record struct SqlToken(SqlTokenKind Kind, int Start, int End, int Line)
{
    public int Length => End - Start;
}

/// <summary>
/// PostgreSQL's lexical rules, as much of them as splitting a script needs: quotes of every kind, dollar quotes,
/// comments, and psql meta-commands. Whitespace is skipped; everything else becomes a token.
/// </summary>
internal sealed class SqlLexer
{
    private readonly string _text;
    private int _pos;
    private int _line = 1;
    private bool _atLineStart = true;

    public SqlLexer(string text, bool recognizeMetaCommands = true)
    {
        _text = text;
        RecognizeMetaCommands = recognizeMetaCommands;
    }

    /// <summary>When off, a backslash in an ordinary <c>'...'</c> string escapes the next character.</summary>
    public bool StandardConformingStrings { get; set; } = true;

    public bool RecognizeMetaCommands { get; }

    public int Line => _line;

    public static List<SqlToken> Tokenize(string text, bool includeComments = false)
    {
        var lexer = new SqlLexer(text, recognizeMetaCommands: false);
        var list = new List<SqlToken>();
        while (lexer.Next() is { } token)
        {
            if (includeComments || token.Kind != SqlTokenKind.Comment)
            {
                list.Add(token);
            }
        }

        return list;
    }

    /// <summary>
    /// Skips the data that follows <c>COPY ... FROM stdin;</c> in a psql script: the rest of the current line, then
    /// lines up to and including the terminator line <c>\.</c> (or the end of the text).
    /// </summary>
    public void SkipCopyData()
    {
        string t = _text;
        int nl = t.IndexOf('\n', _pos);
        if (nl < 0)
        {
            _pos = t.Length;
            return;
        }

        _pos = nl + 1;
        _line++;
        while (_pos < t.Length)
        {
            int end = t.IndexOf('\n', _pos);
            int lineEnd = end < 0 ? t.Length : end;
            bool terminator = t.AsSpan(_pos, lineEnd - _pos).TrimEnd('\r').SequenceEqual("\\.");
            _pos = end < 0 ? t.Length : end + 1;
            if (end >= 0)
            {
                _line++;
            }

            if (terminator)
            {
                break;
            }
        }

        _atLineStart = true;
    }

    /// <summary>The next token, or null at the end of the text.</summary>
    /// <exception cref="SqlLexException">A quote or comment is not closed before the end of the text.</exception>
    public SqlToken? Next()
    {
        string t = _text;
        while (_pos < t.Length)
        {
            char c = t[_pos];
            if (c == '\n')
            {
                _line++;
                _pos++;
                _atLineStart = true;
                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                _pos++;
                continue;
            }

            bool lineStart = _atLineStart;
            _atLineStart = false;
            int start = _pos;
            int line = _line;

            if (c == '\\' && lineStart && RecognizeMetaCommands)
            {
                int end = t.IndexOf('\n', _pos);
                _pos = end < 0 ? t.Length : end;
                return new SqlToken(SqlTokenKind.MetaCommand, start, _pos, line);
            }

            if (c == '-' && Peek(1) == '-')
            {
                int end = t.IndexOf('\n', _pos);
                _pos = end < 0 ? t.Length : end;
                return new SqlToken(SqlTokenKind.Comment, start, _pos, line);
            }

            if (c == '/' && Peek(1) == '*')
            {
                SkipBlockComment(line);
                return new SqlToken(SqlTokenKind.Comment, start, _pos, line);
            }

            if (c == '\'')
            {
                bool escapes = !StandardConformingStrings || IsPrefixedBy('E');
                SkipQuoted('\'', escapes, line, "string constant");
                return new SqlToken(SqlTokenKind.String, start, _pos, line);
            }

            if (c == '"')
            {
                SkipQuoted('"', false, line, "quoted identifier");
                return new SqlToken(SqlTokenKind.QuotedIdentifier, start, _pos, line);
            }

            if (c == '$' && !(_pos > 0 && IsIdentifierPart(t[_pos - 1])) && TryDollarTag(out int tagLength))
            {
                string tag = t.Substring(_pos, tagLength);
                int close = t.IndexOf(tag, _pos + tagLength, StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new SqlLexException($"dollar-quoted string ({tag}) starting at line {line} is not closed", line);
                }

                CountLines(_pos, close + tagLength);
                _pos = close + tagLength;
                return new SqlToken(SqlTokenKind.DollarString, start, _pos, line);
            }

            if (IsIdentifierStart(c) || char.IsAsciiDigit(c))
            {
                _pos++;
                while (_pos < t.Length && IsIdentifierPart(t[_pos]))
                {
                    _pos++;
                }

                return new SqlToken(SqlTokenKind.Word, start, _pos, line);
            }

            _pos++;
            return new SqlToken(SqlTokenKind.Symbol, start, _pos, line);
        }

        return null;
    }

    public static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_' || c >= '\u0080';

    public static bool IsIdentifierPart(char c) => IsIdentifierStart(c) || char.IsAsciiDigit(c) || c == '$';

    private char Peek(int offset) => _pos + offset < _text.Length ? _text[_pos + offset] : '\0';

    // E'...' (or e'...'): the quote directly follows a lone E that is not the end of a longer identifier.
    private bool IsPrefixedBy(char prefix)
    {
        int p = _pos - 1;
        return p >= 0 && char.ToUpperInvariant(_text[p]) == prefix && (p == 0 || !IsIdentifierPart(_text[p - 1]));
    }

    private bool TryDollarTag(out int length)
    {
        string t = _text;
        int p = _pos + 1;
        if (p < t.Length && t[p] == '$')
        {
            length = 2;
            return true;
        }

        if (p < t.Length && IsIdentifierStart(t[p]))
        {
            p++;
            while (p < t.Length && (char.IsAsciiLetterOrDigit(t[p]) || t[p] == '_' || t[p] >= '\u0080'))
            {
                p++;
            }

            if (p < t.Length && t[p] == '$')
            {
                length = p + 1 - _pos;
                return true;
            }
        }

        length = 0;
        return false;
    }

    private void SkipQuoted(char quote, bool backslashEscapes, int line, string what)
    {
        string t = _text;
        int p = _pos + 1;
        while (true)
        {
            if (p >= t.Length)
            {
                throw new SqlLexException($"{what} starting at line {line} is not closed", line);
            }

            char c = t[p];
            if (c == '\n')
            {
                _line++;
            }

            if (backslashEscapes && c == '\\' && p + 1 < t.Length)
            {
                if (t[p + 1] == '\n')
                {
                    _line++;
                }

                p += 2;
                continue;
            }

            if (c == quote)
            {
                if (p + 1 < t.Length && t[p + 1] == quote)
                {
                    p += 2;
                    continue;
                }

                _pos = p + 1;
                return;
            }

            p++;
        }
    }

    private void SkipBlockComment(int line)
    {
        string t = _text;
        int depth = 0;
        int p = _pos;
        while (p < t.Length)
        {
            if (t[p] == '/' && p + 1 < t.Length && t[p + 1] == '*')
            {
                depth++;
                p += 2;
            }
            else if (t[p] == '*' && p + 1 < t.Length && t[p + 1] == '/')
            {
                depth--;
                p += 2;
                if (depth == 0)
                {
                    _pos = p;
                    return;
                }
            }
            else
            {
                if (t[p] == '\n')
                {
                    _line++;
                }

                p++;
            }
        }

        throw new SqlLexException($"comment starting at line {line} is not closed", line);
    }

    private void CountLines(int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            if (_text[i] == '\n')
            {
                _line++;
            }
        }
    }
}

/// <summary>The script cannot be split: an unclosed quote or comment.</summary>
internal sealed class SqlLexException : Exception
{
    public SqlLexException(string message, int line)
        : base(message)
    {
        Line = line;
    }

    public int Line { get; }
}
