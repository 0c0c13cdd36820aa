using System.Text;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using Xunit;

namespace BulkData.Engine.Tests.Import.Tables;

/// <summary>
/// The dialect watch over every pair of the four text dialects a real dump can confuse, with the telling sequence
/// only deep in the file (after 20,000 records that read the same in both dialects), fed in chunks of several sizes
/// (a sequence split across two chunks included). Each file read in its own dialect has no finding.
/// </summary>
public class DialectWatchTests
{
    private const int Padding = 20_000;

    private static CsvRecordCounter Read(CopyDialect d, string text, int chunk)
    {
        var c = new CsvRecordCounter(d);
        byte[] b = Encoding.UTF8.GetBytes(text);
        for (int i = 0; i < b.Length; i += chunk)
        {
            c.Feed(b.AsSpan(i, Math.Min(chunk, b.Length - i)));
        }

        c.Complete();
        return c;
    }

    // Records that every dialect reads the same: an unquoted id and an unquoted (or NULL) body.
    private static string File(string telling, string before = "")
    {
        var sb = new StringBuilder("id,body\n");
        for (int i = 1; i <= Padding; i++)
        {
            sb.Append(i).Append(",plain words ").Append(i).Append('\n');
        }

        sb.Append(before);
        sb.Append(Padding + 1).Append(',').Append(telling).Append('\n');
        sb.Append(Padding + 2).Append(",\n");
        return sb.ToString();
    }

    private static readonly int TellingLine = Padding + 2;

    public static TheoryData<string, string, string, string, string> Pairs() => new()
    {
        // era written, its telling value, read as, the dialect the finding names, what the finding says
        { "Escape", "\"say \\\"hi\\\" now\"", "Rfc4180", "Escape", "text right after a closing quote" },
        { "Escape", "\"C:\\\\dir\\\\file\"", "Rfc4180", "Escape", "doubled backslashes" },
        { "Escape", "\"a \\\"b\\\"\"", "Backtick", "Escape", "wrapped in double quotes" },
        { "ForceQuote", "\"say \"\"hi\"\" now\"", "Escape", "Rfc4180", "doubled quote" },
        { "ForceQuote", "\"C:\\dir\\file\"", "Escape", "Rfc4180", "single backslash before 'd'" },
        { "ForceQuote", "\"say \"\"hi\"\"\"", "Backtick", "Rfc4180", "wrapped in double quotes" },
        { "Plain", "\"line one\\nline \"\"two\"\"\"", "Escape", "Rfc4180", "single backslash before 'n'" },
        { "Plain", "\"quoted \"\"x\"\"\"", "Backtick", "Rfc4180", "wrapped in double quotes" },
        { "Backtick", "`a ``b`` c`", "Escape", "Backtick", "wrapped in backticks" },
        { "Backtick", "`a ``b`` c`", "Rfc4180", "Backtick", "wrapped in backticks" },
        { "Backtick", "`say \"hi\" now`", "Escape", "Backtick", "text right after a closing quote" },
        { "Backtick", "`say \"hi\" now`", "Rfc4180", "Backtick", "text right after a closing quote" },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void A_telling_sequence_deep_in_the_file_is_found_with_its_line_and_the_dialect_to_use(string era, string telling, string readAs, string use, string says)
    {
        string text = File(telling);
        foreach (int chunk in new[] { 1 << 16, 4099, 7 })
        {
            var wrong = Read(CopyDialect.FromName(readAs), text, chunk);
            Assert.NotNull(wrong.Finding);
            Assert.Contains(says, wrong.Finding);
            Assert.Contains($"line {TellingLine}", wrong.Finding);
            Assert.Equal(use, wrong.FindingDialect?.Name);

            // Read in the era's own dialect, nothing is found and every record is counted.
            var right = Read(CopyDialect.FromName(era), text, chunk);
            Assert.Null(right.Finding);
            Assert.Equal(Padding + 2, right.Records);
        }
    }

    [Fact]
    public void Doubled_backslashes_are_not_a_finding_under_rfc4180_when_the_file_also_has_a_single_backslash_or_a_doubled_quote()
    {
        // RFC 4180 text that holds \\ as characters shows itself elsewhere: a single backslash, or a doubled quote.
        Assert.Null(Read(CopyDialect.Rfc4180, File("\"C:\\\\dir\"", before: "0,\"a \\ b\"\n"), 4096).Finding);
        Assert.Null(Read(CopyDialect.Rfc4180, File("\"C:\\\\dir\"", before: "0,\"a \"\"b\"\"\"\n"), 4096).Finding);
        // An escaped quote at the end of a value under ESCAPE '\' is not a single backslash.
        Assert.Null(Read(CopyDialect.Escape, File("\"C:\\\\\"", before: "0,\"\\\"\"\n"), 4096).Finding);
    }

    [Fact]
    public void Values_that_merely_hold_the_other_quote_are_not_findings()
    {
        // A backtick inside a double-quoted value, a double quote inside a backtick-quoted one, a lone backtick.
        Assert.Null(Read(CopyDialect.Escape, File("\"a `b` c\"", before: "0,`\n"), 4096).Finding);
        Assert.Null(Read(CopyDialect.Backtick, File("`a \"b\" c`", before: "0,\"\n"), 4096).Finding);
        Assert.Null(Read(CopyDialect.Rfc4180, File("\"`x`\""), 4096).Finding);
    }
}
