using BulkData.Engine.Import.Sql;

namespace BulkData.Engine.Import.Tables;

/// <summary>
/// Chooses a file's CSV dialect from its bytes when nothing states it (no -Dialect, no load script): the first
/// blocks of the data, with the dump's date as a prior from the publisher's history (facts file): from
/// 2025-01-25 <c>ESCAPE '\'</c>; from 2024-07-25 <c>QUOTE '`'</c>; from 2022-08 RFC 4180 (plain, then
/// FORCE_QUOTE *, read the same way).
/// </summary>
internal static class DialectSniffer
{
    public const string Stated = "stated";
    public const string Sniffed = "sniffed";
    public const string Prior = "prior";

    /// <summary>The dialect the publisher used on <paramref name="dumpDate"/> (today's when unknown).</summary>
    public static CopyDialect PriorFor(DateTime? dumpDate) => dumpDate switch
    {
        null => CopyDialect.Escape,
        { } d when d >= new DateTime(2025, 1, 25) => CopyDialect.Escape,
        { } d when d >= new DateTime(2024, 7, 25) => CopyDialect.Backtick,
        _ => CopyDialect.Rfc4180,
    };

    /// <summary>
    /// The dialect of <paramref name="head"/> (the first decoded bytes, header included): a first value opened by a
    /// backtick is the backtick dialect; quoted values holding <c>\"</c> and no doubled quote are <c>ESCAPE '\'</c>,
    /// doubled quotes and no <c>\"</c> RFC 4180; else (nothing tells them apart) the prior.
    /// </summary>
    public static (CopyDialect Dialect, string Reason) Sniff(ReadOnlySpan<byte> head, CopyDialect prior)
    {
        int start = head.IndexOf((byte)'\n');
        if (start < 0 || start + 1 >= head.Length)
        {
            return (prior, Prior);
        }

        var data = head[(start + 1)..];
        if (data[0] == (byte)'`')
        {
            return (CopyDialect.Backtick, Sniffed);
        }

        long escaped = 0, doubled = 0;
        for (int i = 1; i + 1 < data.Length; i++)
        {
            byte b = data[i], next = data[i + 1];
            if (b == (byte)'\\' && next == (byte)'"' && i + 2 < data.Length && !IsEnd(data[i + 2]))
            {
                escaped++;
            }
            else if (b == (byte)'"' && next == (byte)'"' && !IsEnd(data[i - 1]) && i + 2 < data.Length && !IsEnd(data[i + 2]))
            {
                doubled++;
                i++;
            }
        }

        if (escaped > 0 && doubled == 0)
        {
            return (CopyDialect.Escape, Sniffed);
        }

        if (doubled > 0 && escaped == 0)
        {
            return (CopyDialect.Rfc4180, Sniffed);
        }

        return (prior, Prior);
    }

    private static bool IsEnd(byte b) => b is (byte)',' or (byte)'\n' or (byte)'\r';
}
