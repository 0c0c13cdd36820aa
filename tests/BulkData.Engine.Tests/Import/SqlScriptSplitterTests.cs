using BulkData.Engine.Import.Tables;
using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import;
using Xunit;

namespace BulkData.Engine.Tests.Import;

public class SqlScriptSplitterTests
{
    private static List<(string Text, int Line, StatementKind Kind)> Split(string script)
        => SqlScriptSplitter.Split(script.Replace("\r\n", "\n")).Select(s => (s.Text, s.Line, s.Kind)).ToList();

    [Fact]
    public void Semicolons_inside_quotes_identifiers_and_comments_do_not_split()
    {
        string script = "SELECT 'a;b', \"c;d\" FROM t; -- x; y\nSELECT 1 /* ; */;\n";
        var parts = Split(script);
        Assert.Equal(new[] { ("SELECT 'a;b', \"c;d\" FROM t;", 1, StatementKind.Sql), ("SELECT 1 /* ; */;", 2, StatementKind.Sql) }, parts);
    }

    [Fact]
    public void Doubled_quotes_stay_inside_their_string_and_identifier()
    {
        var parts = Split("SELECT 'it''s; here', \"a\"\";b\";\nSELECT 2;");
        Assert.Equal(2, parts.Count);
        Assert.Equal("SELECT 'it''s; here', \"a\"\";b\";", parts[0].Text);
        Assert.Equal(("SELECT 2;", 2), (parts[1].Text, parts[1].Line));
    }

    [Fact]
    public void Dollar_quotes_with_and_without_tags()
    {
        string script = """
            CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
            CREATE FUNCTION g() RETURNS text AS $body$
            BEGIN
              RETURN 'x;' || $$;$$;   -- a $$ inside the body does not close it
            END;
            $body$ LANGUAGE plpgsql;
            SELECT $1, a$b$c FROM t;
            SELECT 3;
            """;
        var parts = Split(script);
        Assert.Equal(4, parts.Count);
        Assert.Equal(("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;", 1), (parts[0].Text, parts[0].Line));
        Assert.StartsWith("CREATE FUNCTION g()", parts[1].Text);
        Assert.EndsWith("$body$ LANGUAGE plpgsql;", parts[1].Text);
        Assert.Equal(2, parts[1].Line);
        Assert.Equal(("SELECT $1, a$b$c FROM t;", 7), (parts[2].Text, parts[2].Line));
        Assert.Equal(("SELECT 3;", 8), (parts[3].Text, parts[3].Line));
    }

    [Fact]
    public void Nested_block_comments_and_line_comments_are_not_statements()
    {
        string script = "/* outer /* inner; */ still; comment */\n-- only a comment;\n\nSELECT 1;\n/* trailing */";
        var parts = Split(script);
        Assert.Equal(new[] { ("SELECT 1;", 4, StatementKind.Sql) }, parts);
    }

    [Fact]
    public void Escape_strings_honour_backslashes()
    {
        // In E'...' a backslash escapes the quote: the first statement ends after 'd'.
        var parts = Split("SELECT E'a\\';b', e'\\\\';\nSELECT 'c\\';\nSELECT 4;");
        Assert.Equal(3, parts.Count);
        Assert.Equal("SELECT E'a\\';b', e'\\\\';", parts[0].Text);
        // With standard_conforming_strings on (the default) a backslash in '...' is an ordinary character.
        Assert.Equal(("SELECT 'c\\';", 2), (parts[1].Text, parts[1].Line));
        Assert.Equal(("SELECT 4;", 3), (parts[2].Text, parts[2].Line));
    }

    [Fact]
    public void Standard_conforming_strings_off_makes_backslash_escape_in_plain_strings()
    {
        string script = "SET standard_conforming_strings = off;\nSELECT 'a\\';b';\nSET standard_conforming_strings = on;\nSELECT 'c\\';\nSELECT 5;";
        var parts = Split(script);
        Assert.Equal(5, parts.Count);
        Assert.Equal(("SELECT 'a\\';b';", 2), (parts[1].Text, parts[1].Line));
        Assert.Equal(("SELECT 'c\\';", 4), (parts[3].Text, parts[3].Line));
        Assert.Equal(("SELECT 5;", 5), (parts[4].Text, parts[4].Line));
    }

    [Fact]
    public void Meta_commands_end_at_the_end_of_their_line()
    {
        string script = "\\restrict abc123\nSELECT 1;\n\\connect courtlistener\n  \\set ON_ERROR_STOP on\nSELECT '\n\\not a meta command';\n\\unrestrict abc123";
        var parts = Split(script);
        Assert.Equal(
            new[]
            {
                ("\\restrict abc123", 1, StatementKind.MetaCommand),
                ("SELECT 1;", 2, StatementKind.Sql),
                ("\\connect courtlistener", 3, StatementKind.MetaCommand),
                ("\\set ON_ERROR_STOP on", 4, StatementKind.MetaCommand),
                ("SELECT '\n\\not a meta command';", 5, StatementKind.Sql),
                ("\\unrestrict abc123", 7, StatementKind.MetaCommand),
            },
            parts);
    }

    [Fact]
    public void Line_numbers_count_newlines_inside_strings_comments_and_dollar_quotes()
    {
        string script = "SELECT 'a\nb\nc';\n/* x\ny */ SELECT $q$\n\n$q$;\n-- c\nSELECT E'\\\n';\n\n\nSELECT \"x\ny\";";
        var parts = Split(script);
        Assert.Equal(new[] { 1, 5, 9, 13 }, parts.Select(p => p.Line));
        Assert.Equal("SELECT $q$\n\n$q$;", parts[1].Text);
    }

    [Fact]
    public void Semicolons_inside_parentheses_and_begin_atomic_bodies_do_not_split()
    {
        string script = """
            CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));
            CREATE OR REPLACE FUNCTION h(x int) RETURNS int LANGUAGE sql
            BEGIN ATOMIC
              SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;
              SELECT x;
            END;
            CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO a VALUES (1); END;
            SELECT 6;
            """;
        var parts = Split(script);
        Assert.Equal(4, parts.Count);
        Assert.EndsWith("INSERT INTO b VALUES (2));", parts[0].Text);
        Assert.Equal(2, parts[1].Line);
        Assert.EndsWith("SELECT x;\nEND;", parts[1].Text);
        Assert.Equal(("CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO a VALUES (1); END;", 7), (parts[2].Text, parts[2].Line));
        Assert.Equal(("SELECT 6;", 8), (parts[3].Text, parts[3].Line));
    }

    [Fact]
    public void A_last_statement_without_semicolon_is_kept_and_empty_statements_dropped()
    {
        var parts = Split(";;\nSELECT 1;\n;\nSELECT 2\n");
        Assert.Equal(new[] { ("SELECT 1;", 2, StatementKind.Sql), ("SELECT 2", 4, StatementKind.Sql) }, parts);
    }

    [Theory]
    [InlineData("SELECT 1;\nSELECT 'open;\n", 2, "string constant")]
    [InlineData("SELECT 1;\n\n/* open /* nested */\n", 3, "comment")]
    [InlineData("SELECT $a$ x $b$;", 1, "dollar-quoted")]
    [InlineData("SELECT \"x;", 1, "quoted identifier")]
    public void Unclosed_quotes_and_comments_fail_with_file_and_line(string script, int line, string what)
    {
        var e = Assert.Throws<BulkDataException>(() => SqlScriptSplitter.Split(script, "schema.sql"));
        Assert.Equal(BulkErrorKind.InvalidData, e.Kind);
        Assert.Contains($"schema.sql line {line}", e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void Windows_line_endings_give_the_same_statements_and_lines()
    {
        var parts = SqlScriptSplitter.Split("\\restrict k\r\n-- c\r\nSELECT 'a\r\nb';\r\n\r\nSELECT 2;\r\n\\connect db\r\n");
        Assert.Equal(
            new[] { ("\\restrict k", 1, StatementKind.MetaCommand), ("SELECT 'a\r\nb';", 3, StatementKind.Sql), ("SELECT 2;", 6, StatementKind.Sql), ("\\connect db", 7, StatementKind.MetaCommand) },
            parts.Select(p => (p.Text, p.Line, p.Kind)));
    }

    [Fact]
    public void Copy_data_after_copy_from_stdin_is_not_split_into_statements()
    {
        var parts = SqlScriptSplitter.Split("COPY public.t (a) FROM stdin;\n1;2\n\\x;\n\\.\nSELECT 1;\n");
        Assert.Equal(new[] { ("COPY public.t (a) FROM stdin;", 1), ("SELECT 1;", 5) }, parts.Select(p => (p.Text, p.Line)));
    }

    [Fact]
    public void A_meta_command_inside_an_unfinished_statement_is_an_error()
    {
        var e = Assert.Throws<BulkDataException>(() => SqlScriptSplitter.Split("SELECT 1\n\\connect x\n;", "s.sql"));
        Assert.Contains("s.sql line 2", e.Message);
    }
}
