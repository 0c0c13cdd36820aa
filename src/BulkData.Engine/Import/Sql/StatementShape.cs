using System.Text;

namespace BulkData.Engine.Import.Sql;

/// <summary>
/// The tokens of one SQL statement (comments left out), with the small amount of reading the schema rules need:
/// keywords, qualified names, and looking for a phrase outside parentheses.
/// </summary>
internal sealed class StatementShape
{
    private readonly string _text;

    public StatementShape(string text)
    {
        _text = text;
        Tokens = SqlLexer.Tokenize(text);
    }

    public IReadOnlyList<SqlToken> Tokens { get; }

    public int Count => Tokens.Count;

    public string TextOf(int i) => i < Tokens.Count ? _text[Tokens[i].Start..Tokens[i].End] : "";

    /// <summary>The upper-cased word at <paramref name="i"/>, or "" when that token is not a word.</summary>
    public string Word(int i) => i < Tokens.Count && Tokens[i].Kind == SqlTokenKind.Word ? TextOf(i).ToUpperInvariant() : "";

    public bool IsSymbol(int i, char c) => i < Tokens.Count && Tokens[i].Kind == SqlTokenKind.Symbol && _text[Tokens[i].Start] == c;

    /// <summary>True when the words at <paramref name="i"/> are <paramref name="words"/>, in order.</summary>
    public bool WordsAt(int i, params string[] words)
    {
        for (int k = 0; k < words.Length; k++)
        {
            if (Word(i + k) != words[k])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Skips the optional words at <paramref name="i"/>, in any order; returns the index after them.</summary>
    public int Skip(int i, params string[] optional)
    {
        while (i < Count && Array.IndexOf(optional, Word(i)) >= 0)
        {
            i++;
        }

        return i;
    }

    /// <summary>Where the phrase <paramref name="words"/> first appears at parenthesis depth 0, from <paramref name="from"/>; -1 if nowhere.</summary>
    public int Find(int from, params string[] words)
    {
        int depth = 0;
        for (int i = from; i < Count; i++)
        {
            if (IsSymbol(i, '('))
            {
                depth++;
            }
            else if (IsSymbol(i, ')'))
            {
                depth--;
            }
            else if (depth == 0 && WordsAt(i, words))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The identifier at <paramref name="i"/> as the server sees it: unquoted folded to lower case, quoted as written.</summary>
    public string? Identifier(int i)
    {
        if (i >= Tokens.Count)
        {
            return null;
        }

        var token = Tokens[i];
        return token.Kind switch
        {
            SqlTokenKind.Word => TextOf(i).ToLowerInvariant(),
            SqlTokenKind.QuotedIdentifier => TextOf(i)[1..^1].Replace("\"\"", "\""),
            _ => null,
        };
    }

    /// <summary>Reads <c>name</c> or <c>schema.name</c> at <paramref name="i"/>; <paramref name="next"/> is the index after it.</summary>
    public QualifiedName? Name(int i, out int next)
    {
        next = i;
        string? first = Identifier(i);
        if (first is null)
        {
            return null;
        }

        if (IsSymbol(i + 1, '.') && Identifier(i + 2) is { } second)
        {
            next = i + 3;
            return new QualifiedName(first, second);
        }

        next = i + 1;
        return new QualifiedName(null, first);
    }

    /// <summary>The identifier list at <paramref name="i"/> (<c>a, "b", c</c>), stopping at any of <paramref name="stopWords"/>.</summary>
    public List<string> IdentifierList(int i, params string[] stopWords)
    {
        var list = new List<string>();
        while (i < Count && Array.IndexOf(stopWords, Word(i)) < 0 && !IsSymbol(i, ';'))
        {
            if (Tokens[i].Kind == SqlTokenKind.Word && Word(i) == "GROUP")
            {
                i++;
                continue;
            }

            if (Identifier(i) is { } id)
            {
                list.Add(id);
            }

            i++;
        }

        return list;
    }
}

/// <summary>A possibly schema-qualified name, as the server resolves it.</summary>
internal sealed record QualifiedName(string? Schema, string Name)
{
    public string WithDefaultSchema(string schema = "public") => $"{Schema ?? schema}.{Name}";

    /// <summary>The name quoted for SQL.</summary>
    public string Sql => Schema is null ? QuoteIdentifier(Name) : $"{QuoteIdentifier(Schema)}.{QuoteIdentifier(Name)}";

    public override string ToString() => Schema is null ? Name : $"{Schema}.{Name}";

    public static string QuoteIdentifier(string name)
    {
        var sb = new StringBuilder(name.Length + 2).Append('"');
        sb.Append(name.Replace("\"", "\"\"")).Append('"');
        return sb.ToString();
    }
}
