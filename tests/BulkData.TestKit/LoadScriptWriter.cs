using System.Text;

namespace BulkData.TestKit;

/// <summary>How the kit writes <c>load-bulk-data-&lt;date&gt;.sh</c>.</summary>
public enum LoadScriptStyle
{
    /// <summary>
    /// What the publisher's exporter writes (its unquoted <c>&lt;&lt;- EOF</c> heredoc, as bash expands it): the
    /// heredoc's backslash-newlines are gone, so <c>psql --command "\COPY public.&lt;t&gt; (</c> starts a line, the
    /// column list runs over several tab-indented lines, and <c>) FROM '$BULK_DIR/&lt;file&gt;' WITH (...)" --host ...</c>
    /// ends it.
    /// </summary>
    Exporter,

    /// <summary>The heredoc's own shape: <c>psql --command \</c>, then the quoted COPY over several lines, then <c>" \</c> continuation lines.</summary>
    Template,

    /// <summary>One line per COPY, every column on it (what the kit wrote before; also valid bash).</summary>
    OneLine,

    /// <summary>No load script (the dumps of 2022 had none).</summary>
    None,
}

/// <summary>One table of a load script: the table, the columns in the export's order, the CSV's name.</summary>
public sealed record LoadScriptTable(string Table, IReadOnlyList<string> Columns, string CsvName);

/// <summary>
/// Writes a load script the way the publisher's exporter (scripts/make_bulk_data.sh) has generated it in each
/// era. The COPY options per era, as the generated script states them inside bash double quotes:
/// <list type="bullet">
/// <item>2023-09 to 2024-07 (plain and FORCE_QUOTE exports): <c>"COPY public.t (...) FROM '$BULK_DIR/f' WITH (FORMAT csv, ENCODING utf8, HEADER)"</c>;</item>
/// <item>2024-08 to 2025-01 (backtick exports): <c>"\COPY ... WITH (FORMAT csv, ENCODING utf8, QUOTE \'`\', HEADER)"</c>, which bash
/// itself cannot run (the backtick opens a command substitution) but which states the backtick quote;</item>
/// <item>from 2025-01-25 (today): <c>"\COPY ... WITH (FORMAT csv, ENCODING utf8, ESCAPE '\', HEADER)"</c>.</item>
/// </list>
/// </summary>
public static class LoadScriptWriter
{
    public static string Render(Dialect dialect, string schemaFileName, IEnumerable<LoadScriptTable> tables, LoadScriptStyle style)
    {
        if (style == LoadScriptStyle.None)
        {
            return "";
        }

        var sb = new StringBuilder(Header(schemaFileName));
        foreach (var t in tables)
        {
            string copy = CopyCommand(dialect);
            string options = Options(dialect);
            string file = $"'$BULK_DIR/{t.CsvName}'";
            sb.Append($"echo \"Loading {t.CsvName} to database\"\n");
            switch (style)
            {
                case LoadScriptStyle.Exporter:
                    sb.Append($"psql --command \"{copy} public.{t.Table} {FieldList(t.Columns)} FROM {file} WITH ({options})\" --host \"$BULK_DB_HOST\" --username \"$BULK_DB_USER\" --dbname \"$BULK_DB_NAME\"\n\n");
                    break;
                case LoadScriptStyle.Template:
                    sb.Append("psql --command \\\n");
                    sb.Append($"\"{copy} public.{t.Table} {FieldList(t.Columns)} FROM {file} WITH ({options})\" \\\n");
                    sb.Append("--host \"$BULK_DB_HOST\" \\\n--username \"$BULK_DB_USER\" \\\n--dbname \"$BULK_DB_NAME\"\n\n");
                    break;
                default:
                    sb.Append($"psql --command \"{copy} public.{t.Table} ({string.Join(", ", t.Columns)}) FROM {file} WITH ({options})\" --host \"$BULK_DB_HOST\" --username \"$BULK_DB_USER\" --dbname \"$BULK_DB_NAME\"\n\n");
                    break;
            }
        }

        return sb.ToString();
    }

    /// <summary>psql's client-side <c>\COPY</c> since 2024-08-21, the server-side COPY before.</summary>
    public static string CopyCommand(Dialect d) => d is Dialect.Escape or Dialect.Backtick ? "\\COPY" : "COPY";

    /// <summary>The WITH list of the era, as written inside the bash double quotes of the generated script.</summary>
    public static string Options(Dialect d) => d switch
    {
        Dialect.Escape => "FORMAT csv, ENCODING utf8, ESCAPE '\\', HEADER",
        Dialect.Backtick => "FORMAT csv, ENCODING utf8, QUOTE \\'`\\', HEADER",
        Dialect.Binary => "FORMAT binary",
        _ => "FORMAT csv, ENCODING utf8, HEADER",
    };

    /// <summary>
    /// A column list as the exporter's field variables hold it: an opening parenthesis, the names a few to a
    /// line indented with a tab and spaces, the closing parenthesis on a line of its own.
    /// </summary>
    public static string FieldList(IReadOnlyList<string> columns)
    {
        var sb = new StringBuilder("(\n\t       ");
        for (int i = 0; i < columns.Count; i++)
        {
            sb.Append(columns[i]);
            if (i < columns.Count - 1)
            {
                sb.Append(i % 5 == 4 ? ",\n\t       " : ", ");
            }
        }

        return sb.Append("\n\t   )").ToString();
    }

    private static string Header(string schemaFileName) => $$"""
        #!/bin/bash
        set -e
        # Place the uncompressed bulk files in one directory and set BULK_DIR,
        # BULK_DB_HOST, BULK_DB_USER and BULK_DB_PASSWORD.

        if [[ -z ${BULK_DIR} ]];
        then
        echo "BULK_DIR is not set: it is the directory of the unzipped files."
        exit
        fi

        if [[ -z ${BULK_DB_HOST} ]];
        then
        echo "BULK_DB_HOST is not set."
        exit
        fi

        # Default from schema is 'courtlistener'
        export BULK_DB_NAME=courtlistener
        export PGPASSWORD=$BULK_DB_PASSWORD

        echo "Loading schema to database: {{schemaFileName}}"
        psql -f "$BULK_DIR"/{{schemaFileName}} --host "$BULK_DB_HOST" --username "$BULK_DB_USER" --dbname "$BULK_DB_NAME"


        """.Replace("\r\n", "\n");
}
