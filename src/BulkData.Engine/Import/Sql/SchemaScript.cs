namespace BulkData.Engine.Import.Sql;

/// <summary>When a statement runs in a restore: before the data (pre-data) or after it (post-data), as pg_restore splits it.</summary>
public enum SchemaPhase
{
    /// <summary>Settings, schemas, types, functions, tables, sequences, OWNED BY, column defaults, owners, comments on those.</summary>
    PreData,

    /// <summary>Indexes, constraints added by ALTER TABLE (keys, foreign keys, checks), triggers, rules, policies, their comments, grants.</summary>
    PostData,
}

/// <summary>
/// A schema script (a pg_dump schema dump such as CourtListener's <c>schema-&lt;date&gt;.sql</c>) read without psql:
/// split into statements, its database (<c>CREATE DATABASE x</c> + <c>\connect x</c>) recognised, and the rest
/// divided into pre-data and post-data, so tables can be created, loaded, then indexed and constrained.
/// </summary>
internal sealed class SchemaScript
{
    internal static readonly HashSet<string> IgnoredMetaCommands = new(StringComparer.Ordinal)
    {
        // pg_dump 17.6+ guards its output with these; they matter to psql only.
        "restrict", "unrestrict",
        // Client-side settings and output: no effect on what the script creates.
        "set", "unset", "pset", "echo", "qecho", "warn", "encoding", "timing", "x",
    };

    private SchemaScript(string? sourceName)
    {
        SourceName = sourceName;
    }

    /// <summary>The file the script came from, for messages.</summary>
    public string? SourceName { get; }

    /// <summary>The database the script creates and connects to (<c>CREATE DATABASE x</c> + <c>\connect x</c>); null when it does not connect.</summary>
    public string? DatabaseName { get; private set; }

    /// <summary>The script's <c>CREATE DATABASE</c> statement, when it has one.</summary>
    public SqlStatement? CreateDatabaseStatement { get; private set; }

    /// <summary>
    /// Statements about the database itself that come before <c>\connect</c> (<c>ALTER DATABASE x OWNER TO ...</c>,
    /// <c>COMMENT ON DATABASE x</c>): see <see cref="DatabaseStatementsFor"/> to run them against another name.
    /// </summary>
    public IReadOnlyList<SqlStatement> DatabaseStatements { get; private set; } = Array.Empty<SqlStatement>();

    /// <summary>Session settings (<c>SET</c>, <c>set_config</c>) that apply to the target database, in order; they also open <see cref="PreData"/>.</summary>
    public IReadOnlyList<SqlStatement> Settings { get; private set; } = Array.Empty<SqlStatement>();

    public IReadOnlyList<SqlStatement> PreData { get; private set; } = Array.Empty<SqlStatement>();

    public IReadOnlyList<SqlStatement> PostData { get; private set; } = Array.Empty<SqlStatement>();

    /// <summary>The schema-qualified tables the script creates (<c>public.search_docket</c>), in script order.</summary>
    public IReadOnlyList<string> Tables { get; private set; } = Array.Empty<string>();

    /// <summary>Meta-commands that were read and ignored (<c>\restrict</c>, <c>\unrestrict</c>, <c>\set</c>...).</summary>
    public IReadOnlyList<SqlStatement> IgnoredStatements { get; private set; } = Array.Empty<SqlStatement>();

    public static SchemaScript Load(string path) => Parse(ScriptFile.Read(path, "schema script"), path);

    /// <exception cref="BulkDataException">The script cannot be split, holds data (<c>COPY ... FROM stdin</c>), or uses a meta-command this loader cannot honour.</exception>
    public static SchemaScript Parse(string script, string? sourceName = null)
    {
        var result = new SchemaScript(sourceName);
        var statements = SqlScriptSplitter.Split(script, sourceName);
        bool connected = !statements.Any(s => s.Kind == StatementKind.MetaCommand && IsConnect(s.Text));
        var pre = new List<SqlStatement>();
        var post = new List<SqlStatement>();
        var settings = new List<SqlStatement>();
        var database = new List<SqlStatement>();
        var ignored = new List<SqlStatement>();
        var tables = new List<string>();
        string? createdDatabase = null;

        foreach (var statement in statements)
        {
            if (statement.Kind == StatementKind.MetaCommand)
            {
                string command = MetaCommandName(statement.Text);
                if (command is "connect" or "c")
                {
                    string target = ConnectTarget(statement.Text)
                        ?? throw Error(sourceName, statement, "names no database this loader can follow");
                    if (result.DatabaseName is not null && result.DatabaseName != target)
                    {
                        throw Error(sourceName, statement, $"connects to a second database ({target} after {result.DatabaseName}); a script for one database is expected");
                    }

                    result.DatabaseName = target;
                    connected = true;
                }
                else if (IgnoredMetaCommands.Contains(command))
                {
                    ignored.Add(statement);
                }
                else
                {
                    throw Error(sourceName, statement, $"is a psql meta-command (\\{command}) that cannot be run without psql");
                }

                continue;
            }

            var shape = new StatementShape(statement.Text);
            var kind = Classify(shape, out var table);
            if (kind == Section.Data)
            {
                throw Error(sourceName, statement, "loads data (COPY ... FROM stdin); a schema script without data is expected");
            }

            if (!connected)
            {
                // Before \connect: the database's own statements, and settings for the first session only.
                switch (kind)
                {
                    case Section.CreateDatabase:
                        result.CreateDatabaseStatement = statement;
                        createdDatabase = shape.Identifier(2);
                        break;
                    case Section.Database:
                        database.Add(statement);
                        break;
                    case Section.Setting:
                        break;
                    default:
                        throw Error(sourceName, statement, "runs before the script's \\connect; a pg_dump script for one database is expected");
                }

                continue;
            }

            switch (kind)
            {
                case Section.CreateDatabase:
                    throw Error(sourceName, statement, "creates a database after \\connect; a pg_dump script for one database is expected");
                case Section.Setting:
                    settings.Add(statement);
                    pre.Add(statement);
                    break;
                case Section.PostData:
                    post.Add(statement);
                    break;
                default:
                    pre.Add(statement);
                    break;
            }

            if (table is not null && !tables.Contains(table))
            {
                tables.Add(table);
            }
        }

        if (createdDatabase is not null && result.DatabaseName is not null && createdDatabase != result.DatabaseName)
        {
            throw new BulkDataException(
                BulkErrorKind.InvalidData,
                $"{SqlScriptSplitter.Where(sourceName, result.CreateDatabaseStatement!.Line)}: the script creates database {createdDatabase} but connects to {result.DatabaseName}.",
                sourceName);
        }

        result.PreData = pre;
        result.PostData = post;
        result.Settings = settings;
        result.DatabaseStatements = database;
        result.IgnoredStatements = ignored;
        result.Tables = tables;
        return result;
    }

    /// <summary>The phase a statement belongs to, by its shape.</summary>
    public static SchemaPhase PhaseOf(string statement)
        => Classify(new StatementShape(statement), out _) == Section.PostData ? SchemaPhase.PostData : SchemaPhase.PreData;

    /// <summary>
    /// <see cref="DatabaseStatements"/> with the dump's database name replaced by <paramref name="database"/>,
    /// for a target database of another name.
    /// </summary>
    public IReadOnlyList<SqlStatement> DatabaseStatementsFor(string database)
    {
        var list = new List<SqlStatement>();
        foreach (var statement in DatabaseStatements)
        {
            var shape = new StatementShape(statement.Text);
            int nameIndex = shape.WordsAt(0, "ALTER", "DATABASE") ? 2 : shape.WordsAt(0, "COMMENT", "ON", "DATABASE") ? 3 : -1;
            if (nameIndex < 0 || nameIndex >= shape.Count)
            {
                list.Add(statement);
                continue;
            }

            var token = shape.Tokens[nameIndex];
            string text = statement.Text[..token.Start] + QualifiedName.QuoteIdentifier(database) + statement.Text[token.End..];
            list.Add(statement with { Text = text });
        }

        return list;
    }

    /// <summary><paramref name="createDatabaseStatement"/> creating <paramref name="database"/> instead of the name it was written for.</summary>
    public static string RetargetCreateDatabase(string createDatabaseStatement, string database)
    {
        var shape = new StatementShape(createDatabaseStatement);
        if (!shape.WordsAt(0, "CREATE", "DATABASE") || shape.Identifier(2) is null)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"Not a CREATE DATABASE statement: {createDatabaseStatement}");
        }

        var token = shape.Tokens[2];
        return createDatabaseStatement[..token.Start] + QualifiedName.QuoteIdentifier(database) + createDatabaseStatement[token.End..];
    }

    internal enum Section
    {
        Setting,
        CreateDatabase,
        Database,
        PreData,
        PostData,
        Data,
    }

    private static readonly string[] CreateModifiers =
    {
        "OR", "REPLACE", "UNIQUE", "UNLOGGED", "TEMP", "TEMPORARY", "GLOBAL", "LOCAL", "MATERIALIZED", "RECURSIVE",
        "DEFAULT", "TRUSTED", "PROCEDURAL", "CONSTRAINT",
    };

    private static readonly HashSet<string> PostDataObjects = new(StringComparer.Ordinal)
    {
        "INDEX", "TRIGGER", "EVENT", "RULE", "POLICY", "STATISTICS", "PUBLICATION", "SUBSCRIPTION",
    };

    internal static Section Classify(StatementShape s, out string? createdTable)
    {
        createdTable = null;
        string w0 = s.Word(0);
        switch (w0)
        {
            case "SET" or "RESET":
                return Section.Setting;
            case "SELECT" when s.WordsAt(1, "PG_CATALOG") && s.IsSymbol(2, '.') && s.Word(3) == "SET_CONFIG" || s.Word(1) == "SET_CONFIG":
                return Section.Setting;
            case "SELECT" when s.Find(1, "SETVAL") >= 0:
                // Sequence positions belong with the data (pg_dump's SEQUENCE SET): after it is loaded.
                return Section.PostData;
            case "COPY" when s.Find(1, "FROM", "STDIN") >= 0:
                return Section.Data;
            case "REFRESH":
                return Section.PostData;
            case "GRANT" or "REVOKE":
                // Privileges are restored last, as pg_restore does.
                return Section.PostData;
            case "CREATE":
            {
                int i = s.Skip(1, CreateModifiers);
                string what = s.Word(i);
                if (what == "DATABASE")
                {
                    return Section.CreateDatabase;
                }

                if (what == "TABLE" && !s.WordsAt(1, "OR"))
                {
                    int n = s.WordsAt(i + 1, "IF", "NOT", "EXISTS") ? i + 4 : i + 1;
                    createdTable = s.Name(n, out _)?.WithDefaultSchema();
                }

                return PostDataObjects.Contains(what) ? Section.PostData : Section.PreData;
            }

            case "ALTER":
            {
                string what = s.Word(1);
                if (what == "DATABASE")
                {
                    return Section.Database;
                }

                if (what == "INDEX" || what == "DEFAULT" && s.Word(2) == "PRIVILEGES")
                {
                    return Section.PostData;
                }

                if (what is "TABLE" or "FOREIGN" or "MATERIALIZED")
                {
                    return AlterTableIsPostData(s) ? Section.PostData : Section.PreData;
                }

                return Section.PreData;
            }

            case "COMMENT" when s.WordsAt(1, "ON"):
            {
                string what = s.Word(2);
                if (what == "DATABASE")
                {
                    return Section.Database;
                }

                return PostDataObjects.Contains(what) || what == "CONSTRAINT" ? Section.PostData : Section.PreData;
            }

            case "SECURITY" when s.WordsAt(1, "LABEL"):
                return s.Find(2, "ON", "DATABASE") >= 0 ? Section.Database : Section.PreData;
            default:
                return Section.PreData;
        }
    }

    // ALTER TABLE [IF EXISTS] [ONLY] name action [, action ...]: post-data when an action adds or validates a
    // constraint, or sets what only matters once the data is in (clustering, replica identity, row security, triggers).
    private static bool AlterTableIsPostData(StatementShape s)
    {
        int i = 1;
        while (i < s.Count && s.Word(i) is "TABLE" or "FOREIGN" or "MATERIALIZED" or "VIEW")
        {
            i++;
        }

        i = s.WordsAt(i, "IF", "EXISTS") ? i + 2 : i;
        i = s.Skip(i, "ONLY");
        if (s.Name(i, out int next) is null)
        {
            return false;
        }

        i = next;
        if (s.IsSymbol(i, '*'))
        {
            i++;
        }

        int depth = 0;
        bool actionStart = true;
        for (; i < s.Count; i++)
        {
            if (s.IsSymbol(i, '('))
            {
                depth++;
                continue;
            }

            if (s.IsSymbol(i, ')'))
            {
                depth--;
                continue;
            }

            if (depth == 0 && s.IsSymbol(i, ','))
            {
                actionStart = true;
                continue;
            }

            if (!actionStart)
            {
                continue;
            }

            actionStart = false;
            string a = s.Word(i);
            string b = s.Word(i + 1);
            if (a == "ADD" && b is "CONSTRAINT" or "PRIMARY" or "UNIQUE" or "FOREIGN" or "CHECK" or "EXCLUDE"
                || a == "VALIDATE" && b == "CONSTRAINT"
                || a == "CLUSTER" && b == "ON"
                || a == "REPLICA" && b == "IDENTITY"
                || a is "ENABLE" or "DISABLE" or "FORCE" or "NO" && s.WordsAt(i + 1, "ROW", "LEVEL", "SECURITY")
                || a is "ENABLE" or "DISABLE" && b is "TRIGGER" or "RULE" or "ALWAYS" or "REPLICA")
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsConnect(string metaCommand) => MetaCommandName(metaCommand) is "connect" or "c";

    private static string MetaCommandName(string metaCommand)
    {
        int end = 1;
        while (end < metaCommand.Length && !char.IsWhiteSpace(metaCommand[end]) && metaCommand[end] != '\\')
        {
            end++;
        }

        return metaCommand[1..end];
    }

    // \connect dbname | \connect "db name" | \connect -reuse-previous=on "dbname='db name'" (pg_dump's forms).
    internal static string? ConnectTarget(string metaCommand)
    {
        var args = MetaArguments(metaCommand);
        args.RemoveAll(a => a.StartsWith("-reuse-previous", StringComparison.Ordinal));
        if (args.Count == 0 || args[0] == "-")
        {
            return null;
        }

        string first = args[0];
        if (first.Contains('='))
        {
            // A connection string: take its dbname.
            foreach (var pair in ConnInfoPairs(first))
            {
                if (pair.Key == "dbname")
                {
                    return pair.Value;
                }
            }

            return null;
        }

        return first;
    }

    // psql's argument reading, enough for \connect: whitespace-separated, "double quotes" keep case and spaces,
    // 'single quotes' likewise.
    private static List<string> MetaArguments(string metaCommand)
    {
        var args = new List<string>();
        int i = 1 + MetaCommandName(metaCommand).Length;
        var current = new System.Text.StringBuilder();
        bool inArg = false;
        while (i < metaCommand.Length)
        {
            char c = metaCommand[i];
            if (char.IsWhiteSpace(c))
            {
                if (inArg)
                {
                    args.Add(current.ToString());
                    current.Clear();
                    inArg = false;
                }

                i++;
                continue;
            }

            inArg = true;
            if (c is '"' or '\'')
            {
                int p = i + 1;
                while (p < metaCommand.Length)
                {
                    if (metaCommand[p] == c && p + 1 < metaCommand.Length && metaCommand[p + 1] == c)
                    {
                        current.Append(c);
                        p += 2;
                        continue;
                    }

                    if (metaCommand[p] == c)
                    {
                        break;
                    }

                    current.Append(metaCommand[p]);
                    p++;
                }

                i = p + 1;
                continue;
            }

            current.Append(c);
            i++;
        }

        if (inArg)
        {
            args.Add(current.ToString());
        }

        return args;
    }

    private static IEnumerable<KeyValuePair<string, string>> ConnInfoPairs(string connInfo)
    {
        int i = 0;
        while (i < connInfo.Length)
        {
            while (i < connInfo.Length && char.IsWhiteSpace(connInfo[i]))
            {
                i++;
            }

            int eq = connInfo.IndexOf('=', i);
            if (eq < 0)
            {
                yield break;
            }

            string key = connInfo[i..eq].Trim();
            i = eq + 1;
            var value = new System.Text.StringBuilder();
            if (i < connInfo.Length && connInfo[i] == '\'')
            {
                i++;
                while (i < connInfo.Length && connInfo[i] != '\'')
                {
                    if (connInfo[i] == '\\' && i + 1 < connInfo.Length)
                    {
                        i++;
                    }

                    value.Append(connInfo[i]);
                    i++;
                }

                i++;
            }
            else
            {
                while (i < connInfo.Length && !char.IsWhiteSpace(connInfo[i]))
                {
                    value.Append(connInfo[i]);
                    i++;
                }
            }

            yield return new KeyValuePair<string, string>(key, value.ToString());
        }
    }

    private static BulkDataException Error(string? sourceName, SqlStatement statement, string problem)
        => new(BulkErrorKind.InvalidData, $"{SqlScriptSplitter.Where(sourceName, statement.Line)}: '{statement.Summary(100)}' {problem}.", sourceName);
}
