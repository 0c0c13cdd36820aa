using BulkData.Engine.Import;
using BulkData.Engine.Import.Sql;
using BulkData.TestKit;
using Xunit;

namespace BulkData.Engine.Tests.Import;

/// <summary>The load script as the publisher's exporter generates it, for all 33 tables, in every era.</summary>
public class ExporterLoadScriptTests
{
    private static IEnumerable<LoadScriptTable> Tables(string date)
        => ExporterTables.All.Select(t => new LoadScriptTable(t.Table, t.Columns, $"{t.Prefix}-{date}.csv"));

    public static TheoryData<Dialect, LoadScriptStyle, string, string> Eras => new()
    {
        // era, style, the options as psql gets them, the dialect they state
        { Dialect.Escape, LoadScriptStyle.Exporter, "FORMAT csv, ENCODING utf8, ESCAPE '\\', HEADER", "Escape" },
        { Dialect.Escape, LoadScriptStyle.Template, "FORMAT csv, ENCODING utf8, ESCAPE '\\', HEADER", "Escape" },
        { Dialect.Backtick, LoadScriptStyle.Exporter, "FORMAT csv, ENCODING utf8, QUOTE '`', HEADER", "Backtick" },
        { Dialect.Backtick, LoadScriptStyle.Template, "FORMAT csv, ENCODING utf8, QUOTE '`', HEADER", "Backtick" },
        { Dialect.ForceQuote, LoadScriptStyle.Exporter, "FORMAT csv, ENCODING utf8, HEADER", "Rfc4180" },
        { Dialect.Plain, LoadScriptStyle.Template, "FORMAT csv, ENCODING utf8, HEADER", "Rfc4180" },
        { Dialect.Escape, LoadScriptStyle.OneLine, "FORMAT csv, ENCODING utf8, ESCAPE '\\', HEADER", "Escape" },
    };

    [Theory]
    [MemberData(nameof(Eras))]
    public void Every_table_column_list_file_and_option_of_the_33_is_read(Dialect era, LoadScriptStyle style, string options, string dialect)
    {
        string script = LoadScriptWriter.Render(era, "schema-2026-07-01.sql", Tables("2026-06-30"), style);
        if (style != LoadScriptStyle.OneLine)
        {
            Assert.Contains("(\n\t       id, ", script);   // the lists really run over lines
        }

        var entries = LoadScript.Parse(script, "load-bulk-data-2026-07-01.sh");

        var expected = ExporterTables.All.ToList();
        Assert.Equal(33, expected.Count);
        Assert.Equal(expected.Count, entries.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            var (table, prefix, columns) = expected[i];
            var e = entries[i];
            Assert.Equal("public", e.Schema);
            Assert.Equal(table, e.Table);
            Assert.Equal(columns, e.Columns);
            Assert.Equal($"{prefix}-2026-06-30.csv", e.FileName);
            Assert.Equal(options, e.Options);
            Assert.Equal(dialect, e.Dialect.Name);
            Assert.True(e.Dialect.Header, table);
            Assert.Equal("UTF8", e.Dialect.Encoding);
        }

        Assert.All(entries, e => Assert.Equal(era == Dialect.Backtick ? '`' : '"', e.Dialect.Quote));
        Assert.All(entries, e => Assert.Equal(era switch { Dialect.Backtick => '`', Dialect.Escape => '\\', _ => '"' }, e.Dialect.EscapeChar));
    }

    [Fact]
    public void The_line_of_each_entry_is_the_line_its_COPY_is_on()
    {
        string script = LoadScriptWriter.Render(Dialect.Escape, "schema-2026-07-01.sql", Tables("2026-06-30"), LoadScriptStyle.Template);
        var lines = script.Split('\n');
        foreach (var e in LoadScript.Parse(script))
        {
            Assert.Contains($"COPY public.{e.Table} (", lines[e.Line - 1]);
        }
    }

    [Fact]
    public void Reads_what_bash_reads_and_ignores_what_bash_ignores()
    {
        // Written out by hand: comments, a COPY inside single quotes that is only echoed, \COPY without public.,
        // quoted identifiers, a list broken by a backslash-newline outside the quotes, CRLF line ends.
        string script = string.Join("\r\n",
            "#!/bin/bash",
            "# psql --command \"COPY public.search_court (id) FROM '$BULK_DIR/courts-2020-01-01.csv' WITH (FORMAT csv)\"",
            "echo 'not run: COPY public.search_docket (id) FROM '\"'\"'x.csv'\"'\"' WITH (FORMAT csv)' > /dev/null",
            "psql --command \\",
            "\"\\COPY search_court (",
            "\t       id, \\\"position\\\", full_name",
            "\t   ) FROM '$BULK_DIR/courts-2026-06-30.csv' WITH (FORMAT csv, ENCODING utf8, ESCAPE '\\\\', HEADER)\" \\",
            "--host \"$BULK_DB_HOST\"",
            "psql --command \"COPY \\\"public\\\".\\\"search_docket\\\" (id,",
            "  case_name)\"\\",
            "\" FROM '$BULK_DIR/dockets-2026-06-30.csv' WITH (FORMAT csv, HEADER)\"",
            "");

        var entries = LoadScript.Parse(script, "load.sh");

        Assert.Equal(2, entries.Count);
        Assert.Equal("search_court", entries[0].Table);
        Assert.Equal(new[] { "id", "position", "full_name" }, entries[0].Columns);
        Assert.Equal("courts-2026-06-30.csv", entries[0].FileName);
        Assert.Equal('\\', entries[0].Dialect.EscapeChar);
        Assert.Equal(5, entries[0].Line);
        Assert.Equal("search_docket", entries[1].Table);
        Assert.Equal(new[] { "id", "case_name" }, entries[1].Columns);
        Assert.Equal("Rfc4180", entries[1].Dialect.Name);
    }

    [Fact]
    public void The_backtick_template_states_the_backtick_quote_even_though_bash_could_not_run_it()
    {
        // 2024-08 to 2025-01 the template wrote QUOTE \'`\' inside double quotes: bash keeps both backslashes
        // and would open a command substitution at the backtick. What it states is QUOTE '`'.
        string line = "psql --command \"\\COPY public.search_court (id, full_name) FROM '$BULK_DIR/courts-2024-12-31.csv' WITH (FORMAT csv, ENCODING utf8, QUOTE \\'`\\', HEADER)\" --host \"$BULK_DB_HOST\"";

        var e = Assert.Single(LoadScript.Parse(line));

        Assert.Equal("FORMAT csv, ENCODING utf8, QUOTE '`', HEADER", e.Options);
        Assert.Equal('`', e.Dialect.Quote);
        Assert.Equal('`', e.Dialect.EscapeChar);
    }

    [Fact]
    public void A_format_the_importer_cannot_read_is_an_error_naming_the_script_and_line()
    {
        string script = "#!/bin/bash\n\npsql --command \"COPY public.search_court (id) FROM '$BULK_DIR/courts-2022-07-31.csv' WITH (FORMAT binary)\"\n";

        var e = Assert.Throws<BulkDataException>(() => LoadScript.Parse(script, "load-bulk-data-2022-07-31.sh"));

        Assert.Contains("load-bulk-data-2022-07-31.sh line 3", e.Message);
        Assert.Contains("binary", e.Message);
    }
}
