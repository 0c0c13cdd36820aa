using System.Text;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Xunit;

namespace BulkData.Engine.Tests.Import.Tables;

public class CsvColumnFilterTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        // Escape: a backslash-escaped quote and a delimiter and newline inside the dropped value.
        { "Escape", "\"id\",\"extra\",\"name\"\n\"1\",\"a \\\"q\\\", b\nc\",\"x\"\n\"2\",,\"y, \\\"z\\\"\"\r\n", "\"id\",\"name\"\n\"1\",\"x\"\n\"2\",\"y, \\\"z\\\"\"\r\n" },
        // RFC 4180: doubled quotes.
        { "Rfc4180", "id,extra,name\n1,\"a \"\"q\"\", b\",x\n2,\"\",\"\"\"y\"\"\"\n", "id,name\n1,x\n2,\"\"\"y\"\"\"\n" },
        // Backtick: the quote doubles, double quotes are plain bytes.
        { "Backtick", "`id`,`extra`,`name`\n`1`,`a ``\"q\"``, b`,`x`\n", "`id`,`name`\n`1`,`x`\n" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Drops_the_column_at_every_chunk_size(string dialect, string input, string expected)
    {
        var d = CopyDialect.FromName(dialect);
        byte[] bytes = Encoding.UTF8.GetBytes(input);
        for (int chunk = 1; chunk <= bytes.Length; chunk++)
        {
            var filter = new CsvColumnFilter(d, new[] { false, true, false });
            var output = new List<byte>();
            for (int i = 0; i < bytes.Length; i += chunk)
            {
                filter.Filter(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)), output);
            }

            Assert.Equal(expected, Encoding.UTF8.GetString(output.ToArray()));
        }
    }

    [Fact]
    public void Drops_the_first_and_last_columns_and_keeps_fields_beyond_the_header()
    {
        var filter = new CsvColumnFilter(CopyDialect.Rfc4180, new[] { true, false, true });
        var output = new List<byte>();
        filter.Filter(Encoding.UTF8.GetBytes("a,b,c\n1,2,3\n4,5,6,7\n"), output);
        // The record with a fourth field keeps it: COPY refuses it as extra data instead of losing it.
        Assert.Equal("b\n2\n5,7\n", Encoding.UTF8.GetString(output.ToArray()));
    }
}
