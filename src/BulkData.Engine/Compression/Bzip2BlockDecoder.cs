using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

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
    public const ulong BlockMagic = 0x314159265359;
    public const ulong EndMagic = 0x177245385090;

    /// <summary>The largest block any level allows (level 9).</summary>
    public const int MaxBlockSymbols = 900_000;

    private const int MaxGroups = 6;
    private const int MaxAlpha = 258;
    private const int MaxCodeLength = 20;
    private const int MaxSelectors = 32767;
    private const int GroupSize = 50;
    private const int FastBits = 10;
    private const int LimitStride = 24;

    private readonly byte[] _ll = GC.AllocateUninitializedArray<byte>(MaxBlockSymbols, pinned: true);
    private readonly uint[] _tt = GC.AllocateUninitializedArray<uint>(MaxBlockSymbols, pinned: true);
    private readonly byte[] _selectors = new byte[MaxSelectors];
    private readonly byte[] _lengths = new byte[MaxGroups * MaxAlpha];
    private readonly ushort[] _fast = GC.AllocateArray<ushort>(MaxGroups << FastBits, pinned: true);
    private readonly int[] _limit = GC.AllocateArray<int>(MaxGroups * LimitStride, pinned: true);
    private readonly int[] _base = GC.AllocateArray<int>(MaxGroups * LimitStride, pinned: true);
    private readonly ushort[] _perm = GC.AllocateArray<ushort>(MaxGroups * MaxAlpha, pinned: true);

    /// <summary>
    /// Decodes the block whose magic starts <paramref name="firstBit"/> bits into <paramref name="data"/>.
    /// The expanded bytes go to <paramref name="output"/> (rented from the shared pool; replaced by a larger
    /// rented array when it is too small).
    /// </summary>
    public BlockStatus Decode(ReadOnlySpan<byte> data, int firstBit, ref byte[] output, out BlockInfo info)
    {
        info = default;
        fixed (byte* d = data)
        {
            var br = new BitReader(d, data.Length);
            try
            {
                if (firstBit > 0)
                {
                    br.Bits(firstBit);
                }

                return DecodeCore(ref br, d, ref output, ref info);
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

    private BlockStatus DecodeCore(ref BitReader br, byte* start, ref byte[] output, ref BlockInfo info)
    {
        ulong magic = ((ulong)br.Bits(24) << 24) | br.Bits(24);
        if (magic != BlockMagic)
        {
            throw new InvalidBlockException("no block magic");
        }

        info.StoredCrc = br.Bits(32);
        if (br.Bits(1) != 0)
        {
            throw new InvalidBlockException("randomised block (written by bzip2 0.9.0 or older), which this decoder does not support");
        }

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

        int n = DecodeSymbols(ref br, seqToByte, alphaSize, selectorCount);
        info.EndBit = br.ConsumedBits(start);
        info.Symbols = n;
        if (origPtr >= n)
        {
            throw new InvalidBlockException($"BWT origin {origPtr} outside a block of {n} bytes");
        }

        int length = InverseTransform(n, origPtr, ref output);
        info.OutputLength = length;
        info.ComputedCrc = Bzip2Crc.Compute(new ReadOnlySpan<byte>(output, 0, length));
        return BlockStatus.Ok;
    }

    private void BuildTable(int t, byte* lens, int alphaSize)
    {
        int* count = stackalloc int[MaxCodeLength + 2];
        int* first = stackalloc int[MaxCodeLength + 2];
        int* offset = stackalloc int[MaxCodeLength + 2];
        new Span<int>(count, MaxCodeLength + 2).Clear();
        for (int s = 0; s < alphaSize; s++)
        {
            count[lens[s]]++;
        }

        int code = 0, off = 0;
        for (int l = 1; l <= MaxCodeLength; l++)
        {
            first[l] = code;
            offset[l] = off;
            off += count[l];
            code += count[l];
            if (code > (1 << l))
            {
                throw new InvalidBlockException("oversubscribed Huffman code");
            }

            code <<= 1;
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
                limit[l] = (first[l] + count[l]) << (MaxCodeLength - l);
                bas[l] = offset[l] - first[l];
            }

            limit[MaxCodeLength + 1] = int.MaxValue;

            ushort* fast = fastAll + (t << FastBits);
            new Span<ushort>(fast, 1 << FastBits).Clear();
            for (int l = 1; l <= FastBits; l++)
            {
                for (int j = 0; j < count[l]; j++)
                {
                    int sym = perm[offset[l] + j];
                    int c = first[l] + j;
                    int span = 1 << (FastBits - l);
                    ushort entry = (ushort)((l << 9) | sym);
                    new Span<ushort>(fast + (c << (FastBits - l)), span).Fill(entry);
                }
            }
        }
    }

    /// <summary>Huffman-decodes the symbols, undoes RUNA/RUNB and move-to-front into <see cref="_ll"/>; returns the byte count.</summary>
    private int DecodeSymbols(ref BitReader br, byte* seqToByte, int alphaSize, int selectorCount)
    {
        int endOfBlock = alphaSize - 1;
        byte* mtf = stackalloc byte[256];
        for (int i = 0; i < alphaSize - 2; i++)
        {
            mtf[i] = seqToByte[i];
        }

        int n = 0;
        int run = 0, runShift = 0;
        int groupIndex = -1, groupLeft = 0;
        fixed (byte* ll = _ll)
        fixed (byte* sel = _selectors)
        fixed (ushort* fastAll = _fast)
        fixed (int* limitAll = _limit)
        fixed (int* baseAll = _base)
        fixed (ushort* permAll = _perm)
        {
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

                    new Span<byte>(ll + n, run).Fill(mtf[0]);
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
                if (n >= MaxBlockSymbols)
                {
                    throw new InvalidBlockException("block longer than 900000 bytes");
                }

                ll[n++] = b;
            }
        }

        return n;
    }

    /// <summary>Undoes the Burrows-Wheeler transform and the initial run-length coding; returns the output length.</summary>
    private int InverseTransform(int n, int origPtr, ref byte[] output)
    {
        int* cum = stackalloc int[256];
        new Span<int>(cum, 256).Clear();
        fixed (byte* ll = _ll)
        fixed (uint* tt = _tt)
        {
            for (int i = 0; i < n; i++)
            {
                cum[ll[i]]++;
            }

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

            if (output.Length < n)
            {
                ArrayPool<byte>.Shared.Return(output);
                output = ArrayPool<byte>.Shared.Rent(Math.Max(n, 1 << 20));
            }

            int cap = output.Length;
            int outPos = 0;
            int last = -1, same = 0;
            uint r = (uint)origPtr;
            byte* o;
            var handle = System.Runtime.InteropServices.GCHandle.Alloc(output, System.Runtime.InteropServices.GCHandleType.Pinned);
            try
            {
                o = (byte*)handle.AddrOfPinnedObject();
                for (int k = 0; k < n; k++)
                {
                    uint v = tt[r];
                    r = v >> 8;
                    int b = (int)(v & 0xFF);
                    if (same == 4)
                    {
                        // The byte after four equal bytes counts how many more follow.
                        if (outPos + b + (n - k) > cap)
                        {
                            handle.Free();
                            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(cap * 2, outPos + b + (n - k) + (1 << 20)));
                            Buffer.BlockCopy(output, 0, bigger, 0, outPos);
                            ArrayPool<byte>.Shared.Return(output);
                            output = bigger;
                            cap = output.Length;
                            handle = System.Runtime.InteropServices.GCHandle.Alloc(output, System.Runtime.InteropServices.GCHandleType.Pinned);
                            o = (byte*)handle.AddrOfPinnedObject();
                        }

                        new Span<byte>(o + outPos, b).Fill((byte)last);
                        outPos += b;
                        same = 0;
                        continue;
                    }

                    o[outPos++] = (byte)b;
                    if (b == last)
                    {
                        same++;
                    }
                    else
                    {
                        last = b;
                        same = 1;
                    }
                }
            }
            finally
            {
                handle.Free();
            }

            return outPos;
        }
    }

    /// <summary>Reads bits most significant first from a byte range; bits past its end read as missing data.</summary>
    private struct BitReader
    {
        public ulong Buf;
        public int N;
        private byte* _p;
        private readonly byte* _end;

        public BitReader(byte* data, int length)
        {
            _p = data;
            _end = data + length;
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
