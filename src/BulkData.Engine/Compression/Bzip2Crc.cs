using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace BulkData.Engine.Compression;

/// <summary>
/// The CRC-32 of the bzip2 format: polynomial 0x04C11DB7, most significant bit first, register
/// starting at all ones and inverted at the end. Eight bytes per step (slicing by eight).
/// </summary>
internal static class Bzip2Crc
{
    private const uint Polynomial = 0x04C11DB7;

    // Table k (k = 0..7) at [k * 256]: the register contribution of a byte followed by k zero bytes.
    private static readonly uint[] Tables = BuildTables();

    public const uint Initial = 0xFFFFFFFF;

    /// <summary>The CRC of <paramref name="data"/> as a bzip2 block stores it.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(Initial, data);

    /// <summary>The register after feeding <paramref name="data"/> into <paramref name="crc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        fixed (uint* t = Tables)
        fixed (byte* start = data)
        {
            byte* p = start;
            byte* end = start + data.Length;
            while (end - p >= 8)
            {
                uint a = crc ^ BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<uint>(p));
                uint b = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<uint>(p + 4));
                if (!BitConverter.IsLittleEndian)
                {
                    a = crc ^ Unsafe.ReadUnaligned<uint>(p);
                    b = Unsafe.ReadUnaligned<uint>(p + 4);
                }

                crc = t[(7 * 256) + (a >> 24)] ^ t[(6 * 256) + ((a >> 16) & 0xFF)] ^ t[(5 * 256) + ((a >> 8) & 0xFF)] ^ t[(4 * 256) + (a & 0xFF)]
                    ^ t[(3 * 256) + (b >> 24)] ^ t[(2 * 256) + ((b >> 16) & 0xFF)] ^ t[256 + ((b >> 8) & 0xFF)] ^ t[b & 0xFF];
                p += 8;
            }

            while (p < end)
            {
                crc = (crc << 8) ^ t[(crc >> 24) ^ *p];
                p++;
            }
        }

        return crc;
    }

    /// <summary>The stream CRC after one more block: rotate left by one, then exclusive-or the block's CRC.</summary>
    public static uint Combine(uint combined, uint blockCrc) => ((combined << 1) | (combined >> 31)) ^ blockCrc;

    private static uint[] BuildTables()
    {
        var t = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i << 24;
            for (int bit = 0; bit < 8; bit++)
            {
                c = (c & 0x80000000) != 0 ? (c << 1) ^ Polynomial : c << 1;
            }

            t[i] = c;
        }

        for (int k = 1; k < 8; k++)
        {
            for (int i = 0; i < 256; i++)
            {
                uint prev = t[((k - 1) * 256) + i];
                t[(k * 256) + i] = (prev << 8) ^ t[prev >> 24];
            }
        }

        return t;
    }
}
