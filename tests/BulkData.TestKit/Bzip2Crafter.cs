namespace BulkData.TestKit;

/// <summary>How <see cref="Bzip2Crafter.Compress"/> writes its blocks.</summary>
public sealed record Bzip2CraftOptions
{
    /// <summary>The stream's level (1..9): its blocks hold at most level x 100000 bytes before the transform.</summary>
    public int Level { get; init; } = 9;

    /// <summary>Bytes per block after the initial run-length coding (default: as many as the level allows).</summary>
    public int BlockBytes { get; init; }

    /// <summary>Set each block's randomised bit and flip its bytes as bzip2 0.9.0 and older did.</summary>
    public bool Randomised { get; init; }

    /// <summary>
    /// Write code-length tables that are oversubscribed (more codes than their bits allow), which bzip2
    /// decodes all the same: table 0 gives end-of-block a 1-bit code and every other symbol 6 bits, table 1
    /// is a chain of lengths 1..12 and then 246 symbols of 13 bits of which only the first (symbol 10) can be read.
    /// The input may only hold the bytes 0..9 in runs of at most 13 (so that the run-length counts are 0..9
    /// too), so that every symbol used has a code that can be read.
    /// </summary>
    public bool Oversubscribed { get; init; }

    /// <summary>End the last block with four equal bytes and no run-length count (which bzip2 rejects).</summary>
    public bool EndsInRunOfFour { get; init; }
}

/// <summary>
/// A small bzip2 encoder for crafted test streams, written from the format's description: the initial
/// run-length coding, the Burrows-Wheeler transform (rotations sorted by prefix doubling), move-to-front with
/// RUNA/RUNB zero runs, canonical Huffman codes with delta-coded lengths, selectors, block and stream CRCs.
/// Its codes are flat (no compression to speak of): the point is control over the bits, not size. It also
/// writes streams whose compressed bits spell the 48-bit block and end-of-stream magics many times
/// (<see cref="FalseMagics"/>). Every stream it writes is checked against the real bzip2 and lbzip2 by the tests.
/// </summary>
public static class Bzip2Crafter
{
    public const ulong BlockMagic = 0x314159265359;
    public const ulong EndMagic = 0x177245385090;

    private const int Alpha = 258;          // all 256 byte values declared in use, plus RUNA/RUNB... and end of block
    private const int EndOfBlock = Alpha - 1;

    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>A bzip2 stream of <paramref name="data"/>.</summary>
    public static byte[] Compress(byte[] data, Bzip2CraftOptions? options = null)
    {
        options ??= new Bzip2CraftOptions();
        if (options.Level is < 1 or > 9)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Level is 1..9.");
        }

        int max = (options.Level * 100_000) - 19;
        int blockBytes = options.BlockBytes > 0 ? Math.Min(options.BlockBytes, max) : max;
        var w = new BitWriter();
        WriteHeader(w, options.Level);
        uint combined = 0;
        var blocks = SplitIntoBlocks(data, blockBytes);
        for (int k = 0; k < blocks.Count; k++)
        {
            var (original, pre) = blocks[k];
            if (options.EndsInRunOfFour && k == blocks.Count - 1)
            {
                byte x = (byte)(pre.Count > 0 && pre[^1] == 7 ? 8 : 7);
                pre.AddRange(new[] { x, x, x, x });
                original = original.Concat(new[] { x, x, x, x }).ToArray();
            }

            byte[] block = pre.ToArray();
            if (options.Oversubscribed && block.Any(b => b > 9))
            {
                throw new ArgumentException("Oversubscribed tables here can only code the bytes 0..9, in runs of at most 13.", nameof(data));
            }

            if (options.Randomised)
            {
                Randomise(block);
            }

            var (last, origPtr) = Bwt(block);
            var symbols = MoveToFront(last);
            uint crc = Crc(original);
            combined = ((combined << 1) | (combined >> 31)) ^ crc;
            byte[][] tables = options.Oversubscribed ? OversubscribedTables() : new[] { FlatTable(), FlatTable() };
            WriteBlock(w, crc, options.Randomised, origPtr, symbols, tables, alternate: true);
        }

        WriteEnd(w, combined);
        return w.ToArray();
    }

    /// <summary>
    /// A valid stream of about <paramref name="compressedBytes"/> bytes whose blocks' Huffman-coded symbols
    /// spell the block magic and the end-of-stream magic over and over, at every bit offset in turn (a 9-bit
    /// code between them shifts the alignment). Its content is whatever those symbols decode to; the stream's
    /// CRCs match it. <paramref name="falseMagics"/> says how many magics the stream holds besides its real
    /// ones; <paramref name="content"/> is what it decodes to.
    /// </summary>
    public static byte[] FalseMagics(int compressedBytes, int seed, out int falseMagics, out byte[] content, int level = 9)
    {
        var random = new Random(seed);
        var w = new BitWriter();
        WriteHeader(w, level);
        uint combined = 0;
        var output = new List<byte>();
        falseMagics = 0;
        int perBlock = Math.Min((level * 100_000) - 1000, 850_000);   // symbols (one byte each before the transform)
        byte[] blockMagic = BitConverter.GetBytes(BlockMagic).Take(6).Reverse().ToArray();
        byte[] endMagic = BitConverter.GetBytes(EndMagic).Take(6).Reverse().ToArray();
        while (w.Length < compressedBytes || falseMagics == 0)
        {
            int budget = (int)Math.Min(perBlock, Math.Max(64, (compressedBytes - w.Length) * 8L / 8));
            var symbols = new List<ushort>(budget + 16);
            int shift = 0;
            while (symbols.Count < budget - 16)
            {
                // 8-bit codes are the symbols' own values (0..253); 254..256 have 9-bit codes. None is RUNA/RUNB.
                byte[] magic = random.Next(4) == 0 ? endMagic : blockMagic;
                foreach (byte b in magic)
                {
                    symbols.Add(b);
                }

                falseMagics++;
                if (++shift % 8 != 0)
                {
                    symbols.Add((ushort)random.Next(254, 257));
                }

                if (random.Next(3) == 0)
                {
                    symbols.Add((ushort)random.Next(2, 254));
                }
            }

            // The content those symbols make; a block must not end inside a run-length code.
            byte[] pre;
            List<byte>? original;
            while (true)
            {
                var ll = UndoMoveToFront(symbols);
                pre = InverseBwt(ll, 0);
                original = UndoInitialRuns(pre);
                if (original is not null)
                {
                    break;
                }

                symbols.Add((ushort)random.Next(2, 254));
            }

            symbols.Add(EndOfBlock);
            uint crc = Crc(original.ToArray());
            combined = ((combined << 1) | (combined >> 31)) ^ crc;
            WriteBlock(w, crc, randomised: false, origPtr: 0, symbols, new[] { FlatTable(), FlatTable() }, alternate: false);
            output.AddRange(original);
        }

        WriteEnd(w, combined);
        content = output.ToArray();
        return w.ToArray();
    }

    /// <summary>The bzip2 CRC-32 (polynomial 0x04C11DB7, most significant bit first).</summary>
    public static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc = (crc << 8) ^ CrcTable[(crc >> 24) ^ b];
        }

        return ~crc;
    }

    // ------------------------------------------------------------ the format's steps

    private static List<(byte[] Original, List<byte> Pre)> SplitIntoBlocks(byte[] data, int blockBytes)
    {
        var blocks = new List<(byte[], List<byte>)>();
        int i = 0;
        while (i < data.Length)
        {
            int start = i;
            var pre = new List<byte>();
            while (i < data.Length && pre.Count <= blockBytes - 5)
            {
                byte b = data[i];
                int run = 1;
                while (i + run < data.Length && data[i + run] == b && run < 259)
                {
                    run++;
                }

                if (run >= 4)
                {
                    pre.AddRange(new[] { b, b, b, b, (byte)(run - 4) });
                }
                else
                {
                    for (int k = 0; k < run; k++)
                    {
                        pre.Add(b);
                    }
                }

                i += run;
            }

            blocks.Add((data[start..i], pre));
        }

        if (blocks.Count == 0)
        {
            blocks.Add((Array.Empty<byte>(), new List<byte>()));
        }

        return blocks;
    }

    /// <summary>The initial run-length coding undone; null when the data ends with four equal bytes and no count.</summary>
    private static List<byte>? UndoInitialRuns(byte[] pre)
    {
        var output = new List<byte>(pre.Length);
        int run = 0;
        int previous = -1;
        for (int i = 0; i < pre.Length; i++)
        {
            byte b = pre[i];
            output.Add(b);
            run = b == previous ? run + 1 : 1;
            previous = b;
            if (run == 4)
            {
                if (++i >= pre.Length)
                {
                    return null;
                }

                for (int k = 0; k < pre[i]; k++)
                {
                    output.Add(b);
                }

                run = 0;
                previous = -1;
            }
        }

        return output;
    }

    /// <summary>Flips the lowest bit of the last-but-one byte of each gap of the format's randomisation table.</summary>
    private static void Randomise(byte[] block)
    {
        // The engine's table (Compression/Bzip2RandomTable): one copy of the format's fixed numbers.
        ReadOnlySpan<short> gaps = BulkData.Engine.Compression.Bzip2RandomTable.Gaps;
        long end = 0;
        for (int k = 0; ; k = (k + 1) % gaps.Length)
        {
            end += gaps[k];
            if (end - 2 >= block.Length)
            {
                return;
            }

            block[end - 2] ^= 1;
        }
    }

    /// <summary>The last column of the sorted rotations, and the row of the unrotated block.</summary>
    private static (byte[] Last, int OrigPtr) Bwt(byte[] s)
    {
        int n = s.Length;
        if (n == 0)
        {
            return (Array.Empty<byte>(), 0);
        }

        var sa = Enumerable.Range(0, n).ToArray();
        var rank = s.Select(b => (int)b).ToArray();
        var next = new int[n];
        for (int k = 1; ; k <<= 1)
        {
            var r = rank;
            int kk = k % n;
            Array.Sort(sa, (a, b) =>
            {
                int c = r[a].CompareTo(r[b]);
                return c != 0 ? c : r[(a + kk) % n].CompareTo(r[(b + kk) % n]);
            });
            next[sa[0]] = 0;
            for (int i = 1; i < n; i++)
            {
                int a = sa[i - 1], b = sa[i];
                bool same = r[a] == r[b] && r[(a + kk) % n] == r[(b + kk) % n];
                next[b] = next[a] + (same ? 0 : 1);
            }

            (rank, next) = (next, rank);
            if (rank[sa[n - 1]] == n - 1 || k >= n)
            {
                break;
            }
        }

        var last = new byte[n];
        int origPtr = 0;
        for (int j = 0; j < n; j++)
        {
            last[j] = s[(sa[j] + n - 1) % n];
            if (sa[j] == 0)
            {
                origPtr = j;
            }
        }

        return (last, origPtr);
    }

    private static byte[] InverseBwt(byte[] last, int origPtr)
    {
        int n = last.Length;
        var cum = new int[256];
        foreach (byte b in last)
        {
            cum[b]++;
        }

        for (int b = 0, sum = 0; b < 256; b++)
        {
            (cum[b], sum) = (sum, sum + cum[b]);
        }

        var t = new int[n];
        for (int i = 0; i < n; i++)
        {
            t[cum[last[i]]++] = i;
        }

        var output = new byte[n];
        int p = n == 0 ? 0 : t[origPtr];
        for (int k = 0; k < n; k++)
        {
            output[k] = last[p];
            p = t[p];
        }

        return output;
    }

    /// <summary>Move-to-front over all 256 byte values, zero runs as RUNA/RUNB, then end of block.</summary>
    private static List<ushort> MoveToFront(byte[] last)
    {
        var list = Enumerable.Range(0, 256).Select(i => (byte)i).ToList();
        var symbols = new List<ushort>();
        int zeros = 0;
        foreach (byte b in last)
        {
            int idx = list.IndexOf(b);
            list.RemoveAt(idx);
            list.Insert(0, b);
            if (idx == 0)
            {
                zeros++;
                continue;
            }

            FlushRun(symbols, ref zeros);
            symbols.Add((ushort)(idx + 1));
        }

        FlushRun(symbols, ref zeros);
        symbols.Add(EndOfBlock);
        return symbols;
    }

    private static void FlushRun(List<ushort> symbols, ref int zeros)
    {
        // Bijective base 2: RUNA is digit 1, RUNB digit 2, least significant first.
        while (zeros > 0)
        {
            if ((zeros & 1) == 1)
            {
                symbols.Add(0);
                zeros = (zeros - 1) >> 1;
            }
            else
            {
                symbols.Add(1);
                zeros = (zeros - 2) >> 1;
            }
        }
    }

    private static byte[] UndoMoveToFront(List<ushort> symbols)
    {
        var list = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var output = new List<byte>(symbols.Count);
        int run = 0, weight = 1;
        foreach (ushort sym in symbols)
        {
            if (sym <= 1)
            {
                run += (sym + 1) * weight;
                weight <<= 1;
                continue;
            }

            for (; run > 0; run--)
            {
                output.Add(list[0]);
            }

            weight = 1;
            if (sym == EndOfBlock)
            {
                break;
            }

            byte b = list[sym - 1];
            Array.Copy(list, 0, list, 1, sym - 1);
            list[0] = b;
            output.Add(b);
        }

        for (; run > 0; run--)
        {
            output.Add(list[0]);
        }

        return output.ToArray();
    }

    // ------------------------------------------------------------ codes

    /// <summary>A complete code: symbols 0..253 of 8 bits (their own values), 254..257 of 9 bits.</summary>
    private static byte[] FlatTable()
    {
        var lengths = new byte[Alpha];
        for (int s = 0; s < Alpha; s++)
        {
            lengths[s] = (byte)(s < 254 ? 8 : 9);
        }

        return lengths;
    }

    private static byte[][] OversubscribedTables()
    {
        var a = new byte[Alpha];
        Array.Fill(a, (byte)6);
        a[EndOfBlock] = 1;

        var b = new byte[Alpha];
        Array.Fill(b, (byte)13);
        // Symbol 10 (move-to-front index 9) is the first of the 13-bit codes, the only one that can be read: a
        // code longer than a decoder's first lookup table (12 bits in ours).
        int[] chain = { 0, 1, 2, 3, 4, 5, 6, 7, 8, EndOfBlock, 9, 11 };
        for (int l = 0; l < chain.Length; l++)
        {
            b[chain[l]] = (byte)(l + 1);
        }

        return new[] { a, b };
    }

    /// <summary>Canonical codes as bzip2 assigns them: by length, then by symbol; codes past 2^length are never used.</summary>
    private static (uint Code, int Length)[] Codes(byte[] lengths)
    {
        var codes = new (uint, int)[lengths.Length];
        long code = 0;
        for (int l = 1; l <= 20; l++)
        {
            for (int s = 0; s < lengths.Length; s++)
            {
                if (lengths[s] == l)
                {
                    codes[s] = code < (1L << l) ? ((uint)code, l) : (uint.MaxValue, l);
                    code++;
                }
            }

            code <<= 1;
        }

        return codes;
    }

    // ------------------------------------------------------------ bits

    private static void WriteHeader(BitWriter w, int level)
    {
        w.Write('B', 8);
        w.Write('Z', 8);
        w.Write('h', 8);
        w.Write((uint)('0' + level), 8);
    }

    private static void WriteEnd(BitWriter w, uint combined)
    {
        w.Write((uint)(EndMagic >> 24), 24);
        w.Write((uint)(EndMagic & 0xFFFFFF), 24);
        w.Write(combined, 32);
        w.Flush();
    }

    private static void WriteBlock(BitWriter w, uint crc, bool randomised, int origPtr, List<ushort> symbols, byte[][] tables, bool alternate)
    {
        w.Write((uint)(BlockMagic >> 24), 24);
        w.Write((uint)(BlockMagic & 0xFFFFFF), 24);
        w.Write(crc, 32);
        w.Write(randomised ? 1u : 0u, 1);
        w.Write((uint)origPtr, 24);

        // All 256 byte values in use.
        w.Write(0xFFFF, 16);
        for (int i = 0; i < 16; i++)
        {
            w.Write(0xFFFF, 16);
        }

        int groups = tables.Length;
        int selectorCount = (symbols.Count + 49) / 50;
        w.Write((uint)groups, 3);
        w.Write((uint)selectorCount, 15);
        var mtf = Enumerable.Range(0, groups).ToList();
        var selectors = new int[selectorCount];
        for (int i = 0; i < selectorCount; i++)
        {
            int g = alternate ? i % groups : 0;
            selectors[i] = g;
            int pos = mtf.IndexOf(g);
            for (int k = 0; k < pos; k++)
            {
                w.Write(1, 1);
            }

            w.Write(0, 1);
            mtf.RemoveAt(pos);
            mtf.Insert(0, g);
        }

        foreach (var lengths in tables)
        {
            int cur = lengths[0];
            w.Write((uint)cur, 5);
            foreach (byte len in lengths)
            {
                for (; cur < len; cur++)
                {
                    w.Write(0b10, 2);
                }

                for (; cur > len; cur--)
                {
                    w.Write(0b11, 2);
                }

                w.Write(0, 1);
            }
        }

        var codes = tables.Select(Codes).ToArray();
        for (int i = 0; i < symbols.Count; i++)
        {
            var (code, length) = codes[selectors[i / 50]][symbols[i]];
            if (code == uint.MaxValue)
            {
                throw new InvalidOperationException($"symbol {symbols[i]} has no code that can be read in table {selectors[i / 50]}");
            }

            w.Write(code, length);
        }
    }

    private sealed class BitWriter
    {
        private readonly List<byte> _bytes = new();
        private ulong _acc;
        private int _n;

        public long Length => _bytes.Count;

        public void Write(uint value, int bits)
        {
            _acc = (_acc << bits) | (value & (uint)((1UL << bits) - 1));
            _n += bits;
            while (_n >= 8)
            {
                _n -= 8;
                _bytes.Add((byte)(_acc >> _n));
            }
        }

        public void Flush()
        {
            if (_n > 0)
            {
                _bytes.Add((byte)(_acc << (8 - _n)));
                _n = 0;
            }
        }

        public byte[] ToArray() => _bytes.ToArray();
    }

    private static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i << 24;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 0x80000000) != 0 ? (c << 1) ^ 0x04C11DB7 : c << 1;
            }

            t[i] = c;
        }

        return t;
    }
}
