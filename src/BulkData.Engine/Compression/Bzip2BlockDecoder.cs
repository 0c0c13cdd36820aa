using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BulkData.Engine.Compression;

/// <summary>How the decoding of one block ended.</summary>
internal enum BlockStatus
{
    /// <summary>Decoded to its end-of-block symbol; CRCs and sizes are in <see cref="BlockInfo"/>.</summary>
    Ok,

    /// <summary>The bytes given ended before the block did (truncated input, or a slice cut too short).</summary>
    NeedsMore,

    /// <summary>The bits do not form a valid block (corrupt data, or a false block magic).</summary>
    Invalid,
}

/// <summary>What decoding one block found.</summary>
internal struct BlockInfo
{
    /// <summary>Bits consumed from the start of the slice (the block's first bit included), up to the end of the block.</summary>
    public long EndBit;

    public uint StoredCrc;

    public uint ComputedCrc;

    /// <summary>Bytes before the first run-length expansion (what the stream's level bounds).</summary>
    public int Symbols;

    public int OutputLength;

    public string? Error;
}

/// <summary>
/// Decodes one bzip2 block, from its 48-bit magic to its end-of-block symbol, written from the format's
/// description: block header, Huffman tables (delta-coded lengths, canonical codes), selectors (move-to-front
/// coded), the RUNA/RUNB zero-run coding and move-to-front of the symbols, the inverse Burrows-Wheeler
/// transform, and the initial run-length coding (four equal bytes then a count). One instance per thread:
/// its tables are reused from block to block.
/// </summary>
internal sealed unsafe class Bzip2BlockDecoder
{
    // Decoders are about 8 MB of pinned arrays each: kept for the next pipeline (every table's load starts one per
    // thread) instead of left to the pinned heap, which only a full collection empties.
    private static readonly System.Collections.Concurrent.ConcurrentBag<Bzip2BlockDecoder> Idle = new();

    /// <summary>A decoder from the pool, or a new one; give it back with <see cref="Return"/> once no block uses it.</summary>
    internal static Bzip2BlockDecoder Rent() => Idle.TryTake(out var d) ? d : new Bzip2BlockDecoder();

    internal static void Return(Bzip2BlockDecoder decoder)
    {
        if (Idle.Count < 2 * Environment.ProcessorCount)
        {
            Idle.Add(decoder);
        }
    }

    public const ulong BlockMagic = 0x314159265359;
    public const ulong EndMagic = 0x177245385090;

    /// <summary>The largest block any level allows (level 9).</summary>
    public const int MaxBlockSymbols = 900_000;

    private const int MaxGroups = 6;
    private const int MaxAlpha = 258;
    private const int MaxCodeLength = 20;
    private const int MaxSelectors = 32767;
    private const int GroupSize = 50;
    private const int FastBits = 12;
    private const int LimitStride = 24;
    private const int ChunkBits = 8;

    /// <summary>The row index of an entry of tt (its low 20 bits once shifted).</summary>
    private const uint RowMask = 0xFFFFF;
    private const int ChunkSize = 1 << ChunkBits;

    // Chunks for the chain's segments: the block's bytes, plus one partly filled chunk per segment.
    private const int ChunkCount = (MaxBlockSymbols >> ChunkBits) + 1025 + 2;

    // For move-to-front of index i < 16: shuffle [i, 0, 1, ..., 14] and a mask of lanes 0..i.
    private static readonly byte[] MtfShuffles = BuildMtfTable(shuffle: true);
    private static readonly byte[] MtfMasks = BuildMtfTable(shuffle: false);

    private readonly byte[] _ll = GC.AllocateUninitializedArray<byte>(MaxBlockSymbols, pinned: true);
    private readonly uint[] _tt = GC.AllocateUninitializedArray<uint>(MaxBlockSymbols, pinned: true);
    private readonly byte[] _pre = GC.AllocateUninitializedArray<byte>(MaxBlockSymbols + 32, pinned: true);
    private readonly int[] _chainRows = new int[1025];
    private readonly int[] _chainLen = new int[1025];
    private readonly int[] _chainNext = new int[1025];
    private readonly int[] _chainOff = new int[1025];
    private readonly int[] _chainOrder = new int[1025];
    private readonly int[] _counts = new int[256];
    private readonly int[] _chainChunk = new int[1025];
    private readonly int[] _chunkNext = new int[ChunkCount];
    private readonly byte[] _scratch = GC.AllocateUninitializedArray<byte>(ChunkCount << ChunkBits, pinned: true);
    private readonly byte[] _selectors = new byte[MaxSelectors];
    private readonly byte[] _lengths = new byte[MaxGroups * MaxAlpha];
    private readonly ushort[] _fast = GC.AllocateArray<ushort>(MaxGroups << FastBits, pinned: true);
    private readonly int[] _limit = GC.AllocateArray<int>(MaxGroups * LimitStride, pinned: true);
    private readonly int[] _base = GC.AllocateArray<int>(MaxGroups * LimitStride, pinned: true);
    private readonly ushort[] _perm = GC.AllocateArray<ushort>(MaxGroups * MaxAlpha, pinned: true);

    // What the symbol phase leaves for Finish.
    private int _symbols;
    private int _origPtr;
    private bool _randomised;

    /// <summary>
    /// The first phase of decoding a block: from its magic, starting <paramref name="firstBit"/> bits into
    /// <paramref name="data"/>, through the tables and symbols to the end-of-block symbol. On
    /// <see cref="BlockStatus.Ok"/>, <paramref name="info"/> has the block's end, stored CRC and size, and
    /// <see cref="Finish"/> turns the symbols into bytes. <paramref name="length"/> bytes of
    /// <paramref name="data"/> are valid; when they run out, <paramref name="supply"/> (if any) may write more
    /// into the same array (whose capacity is its length) before the block is reported cut short.
    /// </summary>
    public BlockStatus DecodeSymbols(byte[] data, int length, int firstBit, Bzip2ByteSupply? supply, out BlockInfo info)
    {
        info = default;
        _symbols = -1;
        fixed (byte* d = data)
        {
            var br = new BitReader(d, length, supply);
            try
            {
                if (firstBit > 0)
                {
                    br.Bits(firstBit);
                }

                return DecodeCore(ref br, d, ref info);
            }
            catch (NeedMoreDataException)
            {
                return BlockStatus.NeedsMore;
            }
            catch (InvalidBlockException ex)
            {
                info.Error = ex.Message;
                return BlockStatus.Invalid;
            }
        }
    }

    /// <summary>
    /// The second phase, after <see cref="DecodeSymbols"/> returned <see cref="BlockStatus.Ok"/> on this
    /// instance: the inverse Burrows-Wheeler transform, the de-randomisation of a randomised block, the initial
    /// run-length coding and the CRC. The bytes go to <paramref name="output"/> (rented from the shared pool
    /// when null or too small; a smaller array is returned to it).
    /// </summary>
    public BlockStatus Finish(ref byte[]? output, ref BlockInfo info)
    {
        if (_symbols < 0)
        {
            throw new InvalidOperationException("Finish without a decoded block.");
        }

        int n = _symbols;
        _symbols = -1;
        try
        {
            int length = InverseTransform(n, _origPtr, _randomised, ref output);
            info.OutputLength = length;
            info.ComputedCrc = Bzip2Crc.Compute(new ReadOnlySpan<byte>(output, 0, length));
            return BlockStatus.Ok;
        }
        catch (InvalidBlockException ex)
        {
            info.Error = ex.Message;
            return BlockStatus.Invalid;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private BlockStatus DecodeCore(ref BitReader br, byte* start, ref BlockInfo info)
    {
        ulong magic = ((ulong)br.Bits(24) << 24) | br.Bits(24);
        if (magic != BlockMagic)
        {
            throw new InvalidBlockException("no block magic");
        }

        info.StoredCrc = br.Bits(32);

        // Randomised blocks (written by bzip2 0.9.0 and older for inputs its sort found too repetitive) have
        // some of their bytes flipped before the transform; Finish flips them back.
        bool randomised = br.Bits(1) != 0;
        int origPtr = (int)br.Bits(24);

        // The byte values in use: a 16-bit map of 16-byte ranges, then 16 bits for each range present.
        byte* seqToByte = stackalloc byte[256];
        int inUse = 0;
        uint ranges = br.Bits(16);
        for (int i = 0; i < 16; i++)
        {
            if ((ranges & (0x8000u >> i)) != 0)
            {
                uint bits = br.Bits(16);
                for (int j = 0; j < 16; j++)
                {
                    if ((bits & (0x8000u >> j)) != 0)
                    {
                        seqToByte[inUse++] = (byte)((i * 16) + j);
                    }
                }
            }
        }

        if (inUse == 0)
        {
            throw new InvalidBlockException("no byte values in use");
        }

        int alphaSize = inUse + 2;
        int groups = (int)br.Bits(3);
        if (groups < 2 || groups > MaxGroups)
        {
            throw new InvalidBlockException($"{groups} Huffman tables (2 to 6 are valid)");
        }

        int selectorCount = (int)br.Bits(15);
        if (selectorCount < 1)
        {
            throw new InvalidBlockException("no selectors");
        }

        // Selectors: unary-coded move-to-front indexes over the table numbers.
        byte* groupMtf = stackalloc byte[MaxGroups];
        for (int i = 0; i < groups; i++)
        {
            groupMtf[i] = (byte)i;
        }

        fixed (byte* sel = _selectors)
        {
            for (int i = 0; i < selectorCount; i++)
            {
                int j = 0;
                while (br.Bits(1) != 0)
                {
                    if (++j >= groups)
                    {
                        throw new InvalidBlockException("selector out of range");
                    }
                }

                byte g = groupMtf[j];
                for (; j > 0; j--)
                {
                    groupMtf[j] = groupMtf[j - 1];
                }

                groupMtf[0] = g;
                sel[i] = g;
            }
        }

        // Code lengths: a 5-bit start, then per symbol a sequence of (1, +/-) steps ended by a 0 bit.
        fixed (byte* lens = _lengths)
        {
            for (int t = 0; t < groups; t++)
            {
                int cur = (int)br.Bits(5);
                byte* tl = lens + (t * MaxAlpha);
                for (int s = 0; s < alphaSize; s++)
                {
                    while (true)
                    {
                        if (cur < 1 || cur > MaxCodeLength)
                        {
                            throw new InvalidBlockException($"Huffman code length {cur} out of range");
                        }

                        if (br.Bits(1) == 0)
                        {
                            break;
                        }

                        cur += br.Bits(1) == 0 ? 1 : -1;
                    }

                    tl[s] = (byte)cur;
                }

                BuildTable(t, tl, alphaSize);
            }
        }

        int n = DecodeSymbolStream(ref br, seqToByte, alphaSize, selectorCount);
        info.EndBit = br.ConsumedBits(start);
        info.Symbols = n;
        if (origPtr >= n)
        {
            throw new InvalidBlockException($"BWT origin {origPtr} outside a block of {n} bytes");
        }

        _symbols = n;
        _origPtr = origPtr;
        _randomised = randomised;
        return BlockStatus.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BuildTable(int t, byte* lens, int alphaSize)
    {
        int* count = stackalloc int[MaxCodeLength + 2];
        long* first = stackalloc long[MaxCodeLength + 2];
        int* offset = stackalloc int[MaxCodeLength + 2];
        new Span<int>(count, MaxCodeLength + 2).Clear();
        for (int s = 0; s < alphaSize; s++)
        {
            count[lens[s]]++;
        }

        // Canonical codes: by length, then by symbol. bzip2 accepts oversubscribed lengths (more codes than
        // the bits allow) and decodes them as assigned in that order: the codes of a length that no longer fit
        // in its bits, and all longer codes, can never be read. So the running code is not checked against
        // 2^length; only codes that fit are entered in the tables below, and a limit past every 20-bit value
        // ends the search at the first overfull length.
        long code = 0;
        int off = 0;
        for (int l = 1; l <= MaxCodeLength; l++)
        {
            first[l] = code;
            offset[l] = off;
            off += count[l];
            code = Math.Min(code + count[l], 1L << 40) << 1;
        }

        fixed (ushort* permAll = _perm)
        fixed (ushort* fastAll = _fast)
        fixed (int* limitAll = _limit)
        fixed (int* baseAll = _base)
        {
            ushort* perm = permAll + (t * MaxAlpha);
            int* next = stackalloc int[MaxCodeLength + 2];
            for (int l = 1; l <= MaxCodeLength; l++)
            {
                next[l] = offset[l];
            }

            for (int s = 0; s < alphaSize; s++)
            {
                perm[next[lens[s]]++] = (ushort)s;
            }

            int* limit = limitAll + (t * LimitStride);
            int* bas = baseAll + (t * LimitStride);
            for (int l = 1; l <= MaxCodeLength; l++)
            {
                long end = (first[l] + count[l]) << (MaxCodeLength - l);
                limit[l] = (int)Math.Min(end, int.MaxValue);

                // Only used when this length is reached, where first[l] < 2^l.
                bas[l] = (int)Math.Max(offset[l] - first[l], int.MinValue);
            }

            limit[MaxCodeLength + 1] = int.MaxValue;

            ushort* fast = fastAll + (t << FastBits);
            new Span<ushort>(fast, 1 << FastBits).Clear();
            for (int l = 1; l <= FastBits; l++)
            {
                for (int j = 0; j < count[l] && first[l] + j < (1L << l); j++)
                {
                    int sym = perm[offset[l] + j];
                    int c = (int)first[l] + j;
                    int span = 1 << (FastBits - l);
                    ushort entry = (ushort)((l << 9) | sym);
                    new Span<ushort>(fast + (c << (FastBits - l)), span).Fill(entry);
                }
            }
        }
    }

    /// <summary>Huffman-decodes the symbols, undoes RUNA/RUNB and move-to-front into <see cref="_ll"/>; returns the byte count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int DecodeSymbolStream(ref BitReader br, byte* seqToByte, int alphaSize, int selectorCount)
    {
        int endOfBlock = alphaSize - 1;
        byte* mtf = stackalloc byte[256 + 16];
        for (int i = 0; i < alphaSize - 2; i++)
        {
            mtf[i] = seqToByte[i];
        }

        int n = 0;
        int run = 0, runShift = 0;
        int groupIndex = -1, groupLeft = 0;
        fixed (byte* ll = _ll)
        fixed (byte* sel = _selectors)
        fixed (byte* shuffles = MtfShuffles)
        fixed (byte* masks = MtfMasks)
        fixed (int* counts = _counts)
        fixed (ushort* fastAll = _fast)
        fixed (int* limitAll = _limit)
        fixed (int* baseAll = _base)
        fixed (ushort* permAll = _perm)
        {
            new Span<int>(counts, 256).Clear();
            ushort* fast = fastAll;
            int* limit = limitAll;
            int* bas = baseAll;
            ushort* perm = permAll;
            while (true)
            {
                if (groupLeft == 0)
                {
                    if (++groupIndex >= selectorCount)
                    {
                        throw new InvalidBlockException("more symbols than selectors");
                    }

                    int t = sel[groupIndex];
                    fast = fastAll + (t << FastBits);
                    limit = limitAll + (t * LimitStride);
                    bas = baseAll + (t * LimitStride);
                    perm = permAll + (t * MaxAlpha);
                    groupLeft = GroupSize;
                }

                groupLeft--;
                if (br.N < MaxCodeLength)
                {
                    br.Refill();
                }

                uint v = (uint)(br.Buf >> (64 - MaxCodeLength));
                int e = fast[v >> (MaxCodeLength - FastBits)];
                int len, sym;
                if (e != 0)
                {
                    len = e >> 9;
                    sym = e & 511;
                }
                else
                {
                    len = FastBits + 1;
                    while (v >= (uint)limit[len])
                    {
                        len++;
                    }

                    if (len > MaxCodeLength)
                    {
                        if (br.N < MaxCodeLength)
                        {
                            throw new NeedMoreDataException();
                        }

                        throw new InvalidBlockException("invalid Huffman code");
                    }

                    sym = perm[bas[len] + (int)(v >> (MaxCodeLength - len))];
                }

                if (len > br.N)
                {
                    throw new NeedMoreDataException();
                }

                br.Buf <<= len;
                br.N -= len;

                if (sym <= 1)
                {
                    // RUNA adds 1, RUNB adds 2, times the weight of its position (bijective base 2).
                    run += (sym + 1) << runShift;
                    if (++runShift > 20 || run > MaxBlockSymbols)
                    {
                        throw new InvalidBlockException("run longer than a block");
                    }

                    continue;
                }

                if (run > 0)
                {
                    if (n + run > MaxBlockSymbols)
                    {
                        throw new InvalidBlockException("block longer than 900000 bytes");
                    }

                    byte front = mtf[0];
                    new Span<byte>(ll + n, run).Fill(front);
                    counts[front] += run;
                    n += run;
                    run = 0;
                    runShift = 0;
                }

                if (sym == endOfBlock)
                {
                    break;
                }

                int idx = sym - 1;
                byte b = mtf[idx];
                if (idx < 16 && Ssse3.IsSupported)
                {
                    // Move-to-front within the first 16 entries in one vector: lanes 0..idx take the entry
                    // one before them (lane 0 takes entry idx itself), the others keep theirs.
                    var front = Sse2.LoadVector128(mtf);
                    var moved = Ssse3.Shuffle(front, Sse2.LoadVector128(shuffles + (idx << 4)));
                    Sse2.Store(mtf, Sse41.IsSupported
                        ? Sse41.BlendVariable(front, moved, Sse2.LoadVector128(masks + (idx << 4)))
                        : Sse2.Or(Sse2.And(Sse2.LoadVector128(masks + (idx << 4)), moved), Sse2.AndNot(Sse2.LoadVector128(masks + (idx << 4)), front)));
                }
                else
                {
                    if (idx < 16)
                    {
                        for (; idx > 0; idx--)
                        {
                            mtf[idx] = mtf[idx - 1];
                        }
                    }
                    else
                    {
                        Buffer.MemoryCopy(mtf, mtf + 1, 256, idx);
                    }

                    mtf[0] = b;
                }

                if (n >= MaxBlockSymbols)
                {
                    throw new InvalidBlockException("block longer than 900000 bytes");
                }

                ll[n++] = b;
                counts[b]++;
            }
        }

        return n;
    }

    /// <summary>Undoes the Burrows-Wheeler transform and the initial run-length coding; returns the output length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int InverseTransform(int n, int origPtr, bool randomised, ref byte[]? output)
    {
        fixed (int* cum = _counts)
        fixed (byte* ll = _ll)
        fixed (uint* tt = _tt)
        fixed (byte* pre = _pre)
        {
            // cum[] holds the byte counts made while decoding the symbols.
            int sum = 0;
            for (int b = 0; b < 256; b++)
            {
                int c = cum[b];
                cum[b] = sum;
                sum += c;
            }

            // tt[row] = (index in the last column of the row that follows, << 8) | the byte there.
            for (int i = 0; i < n; i++)
            {
                uint b = ll[i];
                tt[cum[b]++] = ((uint)i << 8) | b;
            }

            FollowChain(tt, pre, n, origPtr);
            if (randomised)
            {
                Derandomise(pre, n);
            }

            return UndoInitialRuns(pre, n, ref output);
        }
    }

    /// <summary>Starts segment <paramref name="seg"/> in lane <paramref name="lane"/>: its first byte goes to the fresh scratch chunk <paramref name="chunk"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StartSegment(int lane, int seg, int chunk, uint* tt, int* rows, int* segChunk, int* chunkNext, byte* scratch, int* laneSeg, int* laneChunk, int* laneAt, uint* laneRow, int* laneLen)
    {
        chunkNext[chunk] = -1;
        segChunk[seg] = chunk;
        laneSeg[lane] = seg;
        laneChunk[lane] = chunk;
        uint v = tt[rows[seg]];
        scratch[chunk << ChunkBits] = (byte)v;
        laneAt[lane] = (chunk << ChunkBits) + 1;
        laneRow[lane] = (v >> 8) & RowMask;
        laneLen[lane] = 1;
    }

    /// <summary>
    /// Writes the block's bytes in order into <paramref name="pre"/>: from the original row, each row's entry
    /// gives a byte and the next row. One dependent load per byte is bound by memory latency, so large blocks
    /// are cut at checkpoint rows into segments followed several at a time (independent loads overlap). Each
    /// segment's bytes go to chained chunks of a scratch area; the checkpoint a segment runs into orders the
    /// segments, and their chunks are then copied in that order. When the chain from the original row is shorter than the block (a
    /// periodic block), its bytes repeat, exactly as a plain walk of n steps would produce them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FollowChain(uint* tt, byte* pre, int n, int origPtr)
    {
        const int Lanes = 8;
        const int Checkpoints = 1024;
        const uint Flag = 0x80000000;
        uint r;
        if (n < 1 << 16)
        {
            r = (uint)origPtr;
            for (int k = 0; k < n; k++)
            {
                uint v = tt[r];
                pre[k] = (byte)v;
                r = v >> 8;
            }

            return;
        }

        fixed (int* rows = _chainRows)
        fixed (int* segLen = _chainLen)
        fixed (int* segNext = _chainNext)
        fixed (int* segOff = _chainOff)
        fixed (int* order = _chainOrder)
        fixed (int* segChunk = _chainChunk)
        fixed (int* chunkNext = _chunkNext)
        fixed (byte* scratch = _scratch)
        {
            // Checkpoints: evenly spaced rows and the original row, ascending, each flagged in its entry.
            int m = 0;
            bool originAdded = false;
            for (int k = 0; k < Checkpoints; k++)
            {
                int row = (int)((long)k * n / Checkpoints);
                if (!originAdded && origPtr <= row)
                {
                    if (origPtr < row)
                    {
                        rows[m++] = origPtr;
                    }

                    originAdded = true;
                }

                rows[m++] = row;
            }

            if (!originAdded)
            {
                rows[m++] = origPtr;
            }

            for (int j = 0; j < m; j++)
            {
                tt[rows[j]] |= Flag;
            }

            // One pass: each segment's bytes go to chunks of the scratch area (chained per segment), with its
            // length and the checkpoint that ends it.
            int* laneSeg = stackalloc int[Lanes];
            uint* laneRow = stackalloc uint[Lanes];
            int* laneLen = stackalloc int[Lanes];
            int* laneAt = stackalloc int[Lanes];   // next scratch index of the lane
            int* laneChunk = stackalloc int[Lanes];
            int freeChunk = 0;
            int nextSeg = 0, active = 0;
            for (int l = 0; l < Lanes; l++)
            {
                laneSeg[l] = -1;
                if (nextSeg < m)
                {
                    StartSegment(l, nextSeg++, freeChunk++, tt, rows, segChunk, chunkNext, scratch, laneSeg, laneChunk, laneAt, laneRow, laneLen);
                    active++;
                }
            }

            while (active > 0)
            {
                for (int l = 0; l < Lanes; l++)
                {
                    int seg = laneSeg[l];
                    if (seg < 0)
                    {
                        continue;
                    }

                    uint v = tt[laneRow[l]];
                    if ((v & Flag) == 0)
                    {
                        int at = laneAt[l];
                        if ((at & (ChunkSize - 1)) == 0)
                        {
                            // The lane's chunk is full: chain a new one.
                            int c = freeChunk++;
                            chunkNext[laneChunk[l]] = c;
                            chunkNext[c] = -1;
                            laneChunk[l] = c;
                            at = c << ChunkBits;
                        }

                        uint next = v >> 8;
                        if (Sse.IsSupported)
                        {
                            Sse.Prefetch0(tt + next);
                        }

                        scratch[at] = (byte)v;
                        laneAt[l] = at + 1;
                        laneLen[l]++;
                        laneRow[l] = next;
                        continue;
                    }

                    segLen[seg] = laneLen[l];
                    segNext[seg] = IndexOfRow(rows, m, (int)laneRow[l]);
                    if (nextSeg < m)
                    {
                        StartSegment(l, nextSeg++, freeChunk++, tt, rows, segChunk, chunkNext, scratch, laneSeg, laneChunk, laneAt, laneRow, laneLen);
                    }
                    else
                    {
                        laneSeg[l] = -1;
                        active--;
                    }
                }
            }

            // Order the segments along the chain from the original row.
            int first = IndexOfRow(rows, m, origPtr);
            int count = 0, total = 0;
            int s = first;
            do
            {
                segOff[s] = total;
                total += segLen[s];
                order[count++] = s;
                s = segNext[s];
            }
            while (s != first && total < n && count < m);

            if (total > n)
            {
                total = n;
            }

            // Copy the segments' chunks in chain order.
            for (int k = 0; k < count; k++)
            {
                int seg = order[k];
                int off = segOff[seg];
                int left = Math.Min(segLen[seg], total - off);
                int c = segChunk[seg];
                while (left > 0)
                {
                    int size = Math.Min(left, ChunkSize);
                    Buffer.MemoryCopy(scratch + (c << ChunkBits), pre + off, size, size);
                    off += size;
                    left -= size;
                    c = chunkNext[c];
                }
            }

            // A chain shorter than the block repeats.
            for (int k = total; k < n; k++)
            {
                pre[k] = pre[k - total];
            }
        }
    }

    private static int IndexOfRow(int* rows, int m, int row)
    {
        int lo = 0, hi = m - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (rows[mid] < row)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Expands the initial run-length coding: four equal bytes are followed by a count of further copies (0 to 255).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int UndoInitialRuns(byte* pre, int n, ref byte[]? output)
    {
        if (output is null || output.Length < n)
        {
            if (output is not null)
            {
                ArrayPool<byte>.Shared.Return(output);
            }

            output = ArrayPool<byte>.Shared.Rent(Math.Max(n, 1 << 20));
        }

        int outPos = 0;
        int i = 0;
        while (true)
        {
            int j = FindRunOfFour(pre, i, n);
            if (j < n && j + 4 == n)
            {
                // Every run of four is followed by its count; bzip2 rejects a block that ends without one.
                throw new InvalidBlockException("the block ends with four equal bytes and no run-length count");
            }

            int literal = j - i;
            int count = j + 4 < n ? pre[j + 4] : 0;
            int tail = j + 5 < n ? n - (j + 5) : 0;
            int need = outPos + literal + (j < n ? 4 + count : 0) + tail;
            if (need > output.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(output.Length * 2, need + (1 << 20)));
                Buffer.BlockCopy(output, 0, bigger, 0, outPos);
                ArrayPool<byte>.Shared.Return(output);
                output = bigger;
            }

            new ReadOnlySpan<byte>(pre + i, literal).CopyTo(output.AsSpan(outPos));
            outPos += literal;
            if (j >= n)
            {
                return outPos;
            }

            // The run: its four bytes, then count more.
            int run = 4 + count;
            output.AsSpan(outPos, run).Fill(pre[j]);
            outPos += run;
            i = j + 5;
            if (i >= n)
            {
                return outPos;
            }
        }
    }

    /// <summary>
    /// Undoes the randomisation of a block written by bzip2 0.9.0 or older: the bytes that come out of the
    /// transform are counted off in gaps taken in turn from <see cref="Bzip2RandomTable.Gaps"/> (wrapping
    /// after 512), and the last-but-one byte of each gap had its lowest bit flipped.
    /// </summary>
    private static void Derandomise(byte* pre, int n)
    {
        ReadOnlySpan<short> gaps = Bzip2RandomTable.Gaps;
        long end = 0;
        for (int k = 0; ; k = (k + 1) & 511)
        {
            end += gaps[k];
            long flip = end - 2;
            if (flip >= n)
            {
                return;
            }

            pre[flip] ^= 1;
        }
    }

    /// <summary>The first index at or after <paramref name="i"/> where four equal bytes start, or <paramref name="n"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FindRunOfFour(byte* p, int i, int n)
    {
        int last = n - 3; // a run must start before this
        if (Vector128.IsHardwareAccelerated)
        {
            // _pre has 32 bytes of slack, so the loads may pass n; matches at or past 'last' are ignored.
            while (i < last)
            {
                var a = Vector128.Load(p + i);
                var b = Vector128.Load(p + i + 1);
                var c = Vector128.Load(p + i + 2);
                var d = Vector128.Load(p + i + 3);
                uint mask = (Vector128.Equals(a, b) & Vector128.Equals(b, c) & Vector128.Equals(c, d)).ExtractMostSignificantBits();
                if (mask != 0)
                {
                    int j = i + BitOperations.TrailingZeroCount(mask);
                    return j < last ? j : n;
                }

                i += 16;
            }

            return n;
        }

        for (; i < last; i++)
        {
            byte x = p[i];
            if (p[i + 1] == x && p[i + 2] == x && p[i + 3] == x)
            {
                return i;
            }
        }

        return n;
    }

    private static byte[] BuildMtfTable(bool shuffle)
    {
        var table = GC.AllocateArray<byte>(16 * 16, pinned: true);
        for (int i = 0; i < 16; i++)
        {
            for (int lane = 0; lane < 16; lane++)
            {
                table[(i * 16) + lane] = shuffle
                    ? (byte)(lane == 0 ? i : lane - 1)
                    : (byte)(lane <= i ? 0xFF : 0);
            }
        }

        return table;
    }

    /// <summary>
    /// Reads bits most significant first from a byte range; bits past its end read as missing data, unless a
    /// supply adds bytes to the range first.
    /// </summary>
    private struct BitReader
    {
        public ulong Buf;
        public int N;
        private byte* _p;
        private byte* _end;
        private readonly byte* _start;
        private Bzip2ByteSupply? _supply;

        public BitReader(byte* data, int length, Bzip2ByteSupply? supply)
        {
            _start = data;
            _p = data;
            _end = data + length;
            _supply = supply;
            Buf = 0;
            N = 0;
        }

        public readonly long ConsumedBits(byte* start) => ((_p - start) * 8L) - N;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Refill()
        {
            if (_end - _p >= 8)
            {
                ulong v = Unsafe.ReadUnaligned<ulong>(_p);
                if (BitConverter.IsLittleEndian)
                {
                    v = BinaryPrimitives.ReverseEndianness(v);
                }

                Buf |= v >> N;
                int k = (63 - N) >> 3;
                _p += k;
                N += k << 3;
            }
            else
            {
                RefillSlow();
            }
        }

        private void RefillSlow()
        {
            if (_supply is not null && _end - _p < 8)
            {
                int have = (int)(_end - _start);
                int now = _supply.Extend(have);
                if (now > have)
                {
                    _end = _start + now;
                    if (_end - _p >= 8)
                    {
                        Refill();
                        return;
                    }
                }
                else
                {
                    _supply = null;
                }
            }

            while (N <= 55 && _p < _end)
            {
                Buf |= (ulong)*_p << (56 - N);
                _p++;
                N += 8;
            }
        }

        /// <summary>The next <paramref name="count"/> bits (1 to 32).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint Bits(int count)
        {
            if (N < count)
            {
                Refill();
                if (N < count)
                {
                    throw new NeedMoreDataException();
                }
            }

            uint v = (uint)(Buf >> (64 - count));
            Buf <<= count;
            N -= count;
            return v;
        }
    }

    private sealed class NeedMoreDataException : Exception
    {
    }

    private sealed class InvalidBlockException : Exception
    {
        public InvalidBlockException(string message)
            : base(message)
        {
        }
    }
}

/// <summary>More compressed bytes for a block decode that ran out: written into the decoder's array after the valid ones.</summary>
internal abstract class Bzip2ByteSupply
{
    /// <summary>Writes bytes after the first <paramref name="have"/>; returns the new count (<paramref name="have"/> when there are no more).</summary>
    public abstract int Extend(int have);
}
