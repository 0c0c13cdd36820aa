using BulkData.Engine.Import.Tables;
using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using System.Text;
using BulkData.Engine.Import;
using Xunit;

namespace BulkData.Engine.Tests.Import;

public class CsvRecordCounterTests
{
    private static (long Records, IReadOnlyList<string>? Header, bool InQuotes) Count(string csv, CopyDialect dialect, int chunk)
    {
        var counter = new CsvRecordCounter(dialect);
        var bytes = Encoding.UTF8.GetBytes(csv);
        for (int i = 0; i < bytes.Length; i += chunk)
        {
            counter.Feed(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)));
        }

        return (counter.Records, counter.HeaderColumns(atEnd: true), counter.InQuotes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public void Escape_dialect_counts_records_with_newlines_quotes_and_backslashes_inside_values(int chunk)
    {
        string csv = "id,\"text\",other\n1,\"a \\\" quote\nand a newline\",x\n2,\"ends in backslash \\\\\",\n3,,\"\"\n4,\"\\\"\n\\\"\",\"\"\"\"\n";
        var (records, header, inQuotes) = Count(csv, CopyDialect.Escape, chunk);
        Assert.False(inQuotes);
        Assert.Equal(4, records);
        Assert.Equal(new[] { "id", "text", "other" }, header);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Backtick_dialect_treats_double_quotes_as_text_and_doubled_backticks_as_one(int chunk)
    {
        string csv = "id,body\n1,`he said \"hi\"\nthen ``left```\n2,\"\n3,`a,b`\n";
        var (records, header, _) = Count(csv, CopyDialect.Backtick, chunk);
        Assert.Equal(3, records);
        Assert.Equal(new[] { "id", "body" }, header);
    }

    [Fact]
    public void Rfc4180_doubled_quotes_and_a_last_record_without_newline()
    {
        var (records, _, inQuotes) = Count("a,b\n\"x\"\"y\",\"1\n2\"\n3,4", CopyDialect.Rfc4180, 2);
        Assert.False(inQuotes);
        Assert.Equal(2, records);
    }

    [Fact]
    public void Header_only_file_has_zero_records_and_a_truncated_quote_is_seen()
    {
        Assert.Equal(0, Count("id,name\n", CopyDialect.Escape, 5).Records);
        Assert.Equal(0, Count("id,name", CopyDialect.Escape, 5).Records);
        Assert.True(Count("id,name\n1,\"never closed\n", CopyDialect.Escape, 5).InQuotes);
    }
}

public class LoadScriptTests
{
    [Fact]
    public void Reads_table_columns_file_and_dialect_from_bash_double_quoted_copy_lines()
    {
        string script = """
            #!/bin/bash
            psql -f "$BULK_DIR"/schema-2024-12-31.sql --host "$BULK_DB_HOST"
            psql --command "COPY public.search_court (id, \"position\", full_name) FROM '$BULK_DIR/courts-2024-12-31.csv' WITH (FORMAT csv, ENCODING utf8, QUOTE '\`', HEADER)" --host "$BULK_DB_HOST"
            psql --command "COPY public.search_docket (id, case_name) FROM '$BULK_DIR/dockets-2026-09-30.csv' WITH (FORMAT csv, ENCODING utf8, ESCAPE '\\', HEADER)" --host "$BULK_DB_HOST"
            psql --command "COPY public.search_citation (id) FROM '$BULK_DIR/citations-2023-01-01.csv' WITH (FORMAT csv, HEADER, FORCE_QUOTE *)"
            """;
        var entries = LoadScript.Parse(script, "load.sh");
        Assert.Equal(3, entries.Count);
        Assert.Equal("search_court", entries[0].Table);
        Assert.Equal(new[] { "id", "position", "full_name" }, entries[0].Columns);
        Assert.Equal("courts-2024-12-31.csv", entries[0].FileName);
        Assert.Equal('`', entries[0].Dialect.Quote);
        Assert.Equal('`', entries[0].Dialect.EscapeChar);
        Assert.Equal("Backtick", entries[0].Dialect.Name);
        Assert.Equal("Escape", entries[1].Dialect.Name);
        Assert.Equal('\\', entries[1].Dialect.EscapeChar);
        Assert.Equal("Rfc4180", entries[2].Dialect.Name);
        Assert.True(entries[2].Dialect.Header);
        Assert.Equal(3, entries[0].Line);
    }

    [Fact]
    public void Unescapes_what_bash_unescapes_in_double_quotes()
        => Assert.Equal("a`b\"c\\d$e\\n", LoadScript.UnescapeDoubleQuoted("a\\`b\\\"c\\\\d\\$e\\n"));

    [Fact]
    public void Unknown_copy_option_is_a_clear_error()
    {
        var e = Assert.Throws<BulkDataException>(() => CopyDialect.ParseOptions("FORMAT binary", "x.sh line 3"));
        Assert.Contains("x.sh line 3", e.Message);
    }

    [Fact]
    public void Copy_options_round_trip_the_dialect()
        => Assert.Equal("FORMAT csv, HEADER, ENCODING 'UTF8', DELIMITER ',', QUOTE '`', ESCAPE '`'", CopyDialect.Backtick.ToCopyOptions());
}

public class PgConnectionInfoTests
{
    [Fact]
    public void Explicit_parts_win_over_the_connection_string_which_wins_over_PG_variables()
    {
        var env = new Dictionary<string, string> { ["PGHOST"] = "envhost", ["PGPORT"] = "6543", ["PGUSER"] = "envuser", ["PGPASSWORD"] = "envsecret", ["PGDATABASE"] = "envdb" };
        var fromEnv = PgConnectionInfo.Create(environment: n => env.GetValueOrDefault(n));
        Assert.Equal("envuser@envhost:6543/envdb", fromEnv.Describe());
        var cs = PgConnectionInfo.Create("Host=cshost;Username=csuser;Password=cssecret", database: "given", environment: n => env.GetValueOrDefault(n));
        Assert.Equal("csuser@cshost:6543/given", cs.Describe());
        Assert.DoesNotContain("secret", cs.ToString());
        Assert.DoesNotContain("secret", fromEnv.ToString());
    }

    [Fact]
    public void A_bad_connection_string_error_does_not_quote_it()
    {
        var e = Assert.Throws<BulkDataException>(() => PgConnectionInfo.Create("Host=x;Password=topsecret;Bogus Key=1"));
        Assert.DoesNotContain("topsecret", e.Message);
    }
}
