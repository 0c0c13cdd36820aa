using System.Text;
using System.Text.RegularExpressions;

namespace BulkData.TestKit;

/// <summary>A primary key or unique constraint of the real schema: its table, name and columns.</summary>
public sealed record SchemaKey(string Table, string Name, IReadOnlyList<string> Columns, bool Primary);

/// <summary>A foreign key of the real schema: one column of <paramref name="Table"/> naming <paramref name="RefTable"/>.<paramref name="RefColumn"/>.</summary>
public sealed record SchemaForeignKey(string Table, string Name, string Column, string RefTable, string RefColumn);

/// <summary>
/// The real CourtListener schema dump (../shared/fixtures/courtlistener/schema-2024-12-31.sql), read at run time
/// (never copied into the project), made loadable into a stock PostgreSQL 15 for a source database only, and split
/// the way pg_restore splits a dump: pre-data (tables, sequences, defaults) and post-data (keys, indexes, foreign keys).
/// What is stripped, and why (the facts file lists what a stock server cannot take):
/// <list type="bullet">
/// <item><c>CREATE DATABASE ... LOCALE 'en_US.UTF-8'</c>, <c>ALTER DATABASE</c>, <c>\connect</c>, <c>\restrict</c>: the kit makes its own database;</item>
/// <item><c>OWNER TO django</c>, grants: the role does not exist;</item>
/// <item><c>SET transaction_timeout</c>: unknown before PostgreSQL 17;</item>
/// <item>the 86 <c>CREATE TRIGGER ... EXECUTE FUNCTION public.pgtrigger_...()</c> and their comments: the functions are not in the dump;</item>
/// <item>the 5 foreign keys to <c>django_content_type</c> and <c>auth_user</c>: those tables are not in the dump.</item>
/// </list>
/// One table is added: <c>citations_unmatchedcitation</c> is exported today but postdates this schema; the kit
/// defines it from the exporter's column list (<see cref="AddedTables"/>).
/// </summary>
public sealed partial class RealSchema
{
    public const string FileName = "schema-2024-12-31.sql";

    /// <summary>Tables the export has that the 2024-12-31 schema predates; DDL in the shape of the others.</summary>
    public const string AddedTables = """
        CREATE TABLE public.citations_unmatchedcitation (
            id integer NOT NULL,
            volume smallint NOT NULL,
            reporter text NOT NULL,
            page text NOT NULL,
            type smallint NOT NULL,
            status smallint NOT NULL,
            citation_string text NOT NULL,
            court_id character varying(100) NOT NULL,
            year character varying(4) NOT NULL,
            citing_opinion_id integer NOT NULL,
            CONSTRAINT citations_unmatchedcitation_volume_check CHECK ((volume >= 0)),
            CONSTRAINT citations_unmatchedcitation_type_check CHECK ((type >= 0)),
            CONSTRAINT citations_unmatchedcitation_status_check CHECK ((status >= 0))
        )
        """;

    public const string AddedPostData = """
        ALTER TABLE ONLY public.citations_unmatchedcitation
            ADD CONSTRAINT citations_unmatchedcitation_pkey PRIMARY KEY (id);
        CREATE INDEX citations_unmatchedcitation_citing_opinion_id_39a9e4b5 ON public.citations_unmatchedcitation USING btree (citing_opinion_id);
        ALTER TABLE ONLY public.citations_unmatchedcitation
            ADD CONSTRAINT citations_unmatchedcitation_citing_opinion_id_fk_search_opinion_id FOREIGN KEY (citing_opinion_id) REFERENCES public.search_opinion(id) DEFERRABLE INITIALLY DEFERRED;
        """;

    private static readonly string[] MissingTables = { "django_content_type", "auth_user" };

    public RealSchema(string path)
    {
        Path = path;
        var pre = new List<string>();
        var post = new List<string>();
        var stripped = new List<string>();
        foreach (var statement in Split(File.ReadAllText(path)).Concat(Split(AddedTables + ";\n" + AddedPostData)))
        {
            string s = statement.Trim();
            string head = Regex.Replace(s, @"\s+", " ");
            if (head.StartsWith('\\') || head.StartsWith("CREATE DATABASE ") || head.StartsWith("ALTER DATABASE ")
                || head.Contains(" OWNER TO ") || head.StartsWith("GRANT ") || head.StartsWith("REVOKE ")
                || head.StartsWith("SET transaction_timeout") || head.StartsWith("CREATE TRIGGER ") || head.StartsWith("COMMENT ON TRIGGER ")
                || MissingTables.Any(t => head.Contains($"REFERENCES public.{t}(")))
            {
                stripped.Add(head.Length > 120 ? head[..120] : head);
                continue;
            }

            if (head.StartsWith("CREATE INDEX ") || head.StartsWith("CREATE UNIQUE INDEX ") || (head.StartsWith("ALTER TABLE ") && head.Contains(" ADD CONSTRAINT ")))
            {
                post.Add(s);
            }
            else
            {
                pre.Add(s);
            }
        }

        PreData = pre;
        PostData = post;
        Stripped = stripped;
        foreach (var s in post)
        {
            string flat = Regex.Replace(s, @"\s+", " ");
            var key = KeyRegex().Match(flat);
            if (key.Success)
            {
                Keys.Add(new SchemaKey(key.Groups[1].Value, key.Groups[2].Value, ColumnList(key.Groups[4].Value), key.Groups[3].Value == "PRIMARY KEY"));
                continue;
            }

            var fk = ForeignKeyRegex().Match(flat);
            if (fk.Success)
            {
                ForeignKeys.Add(new SchemaForeignKey(fk.Groups[1].Value, fk.Groups[2].Value, Unquote(fk.Groups[3].Value), fk.Groups[4].Value, Unquote(fk.Groups[5].Value)));
            }
            else if (flat.Contains(" FOREIGN KEY "))
            {
                throw new InvalidDataException($"{path}: a foreign key the kit cannot read: {flat}");
            }
        }

        Tables = pre.Select(s => CreateTableRegex().Match(s)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
    }

    public string Path { get; }

    /// <summary>Statements of the pre-data section, in the dump's order (tables, sequences, defaults).</summary>
    public IReadOnlyList<string> PreData { get; }

    /// <summary>Primary keys, unique constraints, indexes, foreign keys, in the dump's order.</summary>
    public IReadOnlyList<string> PostData { get; }

    /// <summary>What was left out for a stock PostgreSQL 15 (first 120 characters of each statement).</summary>
    public IReadOnlyList<string> Stripped { get; }

    public IReadOnlyList<string> Tables { get; }

    public List<SchemaKey> Keys { get; } = new();

    public List<SchemaForeignKey> ForeignKeys { get; } = new();

    public int IndexCount => PostData.Count(s => s.StartsWith("CREATE INDEX ") || s.StartsWith("CREATE UNIQUE INDEX "));

    /// <summary>The schema file from <paramref name="path"/>, or from ../shared/fixtures/courtlistener above the current or the kit's folder; a clear error if absent.</summary>
    public static RealSchema Load(string? path = null)
    {
        if (path is null)
        {
            foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            {
                for (var dir = new DirectoryInfo(start); dir is not null && path is null; dir = dir.Parent)
                {
                    string candidate = System.IO.Path.Combine(dir.FullName, "..", "shared", "fixtures", "courtlistener", FileName);
                    if (File.Exists(candidate))
                    {
                        path = System.IO.Path.GetFullPath(candidate);
                    }
                }

                if (path is not null)
                {
                    break;
                }
            }
        }

        if (path is null || !File.Exists(path))
        {
            throw new FileNotFoundException($"The real schema {FileName} was not found (looked for ../shared/fixtures/courtlistener/{FileName} above {Environment.CurrentDirectory} and {AppContext.BaseDirectory}); pass --schema-file.", path ?? FileName);
        }

        return new RealSchema(path);
    }

    /// <summary>
    /// Splits pg_dump output into statements: at a semicolon ending a line, outside quotes and comments.
    /// psql meta-commands (a line starting with a backslash) are statements of their own.
    /// </summary>
    public static List<string> Split(string script)
    {
        var result = new List<string>();
        var sb = new StringBuilder();
        bool inQuote = false, inIdent = false;
        int i = 0;
        while (i < script.Length)
        {
            char c = script[i];
            if (!inQuote && !inIdent && sb.ToString().Trim().Length == 0 && c == '\\')
            {
                int eol = script.IndexOf('\n', i);
                eol = eol < 0 ? script.Length : eol;
                result.Add(script[i..eol].Trim());
                sb.Clear();
                i = eol + 1;
                continue;
            }

            if (!inQuote && !inIdent && c == '-' && i + 1 < script.Length && script[i + 1] == '-')
            {
                int eol = script.IndexOf('\n', i);
                i = eol < 0 ? script.Length : eol + 1;
                sb.Append('\n');
                continue;
            }

            sb.Append(c);
            if (c == '\'' && !inIdent)
            {
                inQuote = !inQuote;
            }
            else if (c == '"' && !inQuote)
            {
                inIdent = !inIdent;
            }
            else if (c == ';' && !inQuote && !inIdent)
            {
                string s = sb.ToString().Trim();
                if (s.Length > 1)
                {
                    result.Add(s[..^1].Trim());
                }

                sb.Clear();
            }

            i++;
        }

        if (sb.ToString().Trim().Length > 0)
        {
            result.Add(sb.ToString().Trim());
        }

        return result;
    }

    private static List<string> ColumnList(string list) => list.Split(',').Select(c => Unquote(c.Trim())).ToList();

    private static string Unquote(string name) => name.Trim('"');

    [GeneratedRegex(@"^ALTER TABLE ONLY public\.(\w+) ADD CONSTRAINT (\w+) (PRIMARY KEY|UNIQUE) \(([^)]*)\)")]
    private static partial Regex KeyRegex();

    [GeneratedRegex(@"^ALTER TABLE ONLY public\.(\w+) ADD CONSTRAINT (\w+) FOREIGN KEY \(([\w""]+)\) REFERENCES public\.(\w+)\(([\w""]+)\)")]
    private static partial Regex ForeignKeyRegex();

    [GeneratedRegex(@"^CREATE TABLE public\.(\w+) \(")]
    private static partial Regex CreateTableRegex();
}
