using System.Text;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Xunit;

namespace BulkData.Engine.Tests.Import.Tables;

public class DialectCheckTests
{
    private static CsvRecordCounter Feed(CopyDialect d, string text, int chunk)
    {
        var c = new CsvRecordCounter(d);
        byte[] b = Encoding.UTF8.GetBytes(text);
        for (int i = 0; i < b.Length; i += chunk)
        {
            c.Feed(b.AsSpan(i, Math.Min(chunk, b.Length - i)));
        }

        return c;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public void A_doubled_quote_under_escape_and_an_escaped_quote_under_rfc4180_are_findings_naming_the_other(int chunk)
    {
        var rfc = "id,body\n\"1\",\"plain\"\n\"2\",\"line \"\"two\"\"\"\n";
        var esc = "id,body\n\"1\",\"plain\"\n\"2\",\"line \\\"two\\\"\"\n";
        var underEscape = Feed(CopyDialect.Escape, rfc, chunk);
        Assert.Contains("line 3", underEscape.Finding);
        Assert.Equal(CopyDialect.Rfc4180, underEscape.FindingDialect);
        var underRfc = Feed(CopyDialect.Rfc4180, esc, chunk);
        Assert.Contains("line 3", underRfc.Finding);
        Assert.Equal(CopyDialect.Escape, underRfc.FindingDialect);
        // Each read in its own dialect: no finding.
        Assert.Null(Feed(CopyDialect.Rfc4180, rfc, chunk).Finding);
        Assert.Null(Feed(CopyDialect.Escape, esc, chunk).Finding);
        Assert.Null(Feed(CopyDialect.Escape, "id,body\n\"1\",\"\"\n\"2\",\"a\"\r\n", chunk).Finding);
    }

    [Fact]
    public void The_sniffer_reads_the_first_blocks_and_falls_back_on_the_dump_dates_prior()
    {
        Assert.Equal((CopyDialect.Backtick, DialectSniffer.Sniffed), DialectSniffer.Sniff(Encoding.UTF8.GetBytes("id,name\n`1`,`a`\n"), CopyDialect.Escape));
        Assert.Equal((CopyDialect.Escape, DialectSniffer.Sniffed), DialectSniffer.Sniff(Encoding.UTF8.GetBytes("id,name\n\"1\",\"say \\\"hi\\\"\"\n"), CopyDialect.Rfc4180));
        Assert.Equal((CopyDialect.Rfc4180, DialectSniffer.Sniffed), DialectSniffer.Sniff(Encoding.UTF8.GetBytes("id,name\n\"1\",\"say \"\"hi\"\"\"\n"), CopyDialect.Escape));
        Assert.Equal((CopyDialect.Backtick, DialectSniffer.Prior), DialectSniffer.Sniff(Encoding.UTF8.GetBytes("id,name\n1,plain\n"), CopyDialect.Backtick));
        Assert.Equal(CopyDialect.Escape, DialectSniffer.PriorFor(new DateTime(2025, 1, 31)));
        Assert.Equal(CopyDialect.Backtick, DialectSniffer.PriorFor(new DateTime(2024, 12, 31)));
        Assert.Equal(CopyDialect.Rfc4180, DialectSniffer.PriorFor(new DateTime(2023, 9, 30)));
        Assert.Equal(CopyDialect.Escape, DialectSniffer.PriorFor(null));
    }
}
