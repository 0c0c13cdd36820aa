using System.Buffers.Binary;
using System.Security.Cryptography;

namespace BulkData.Engine.Storage;

/// <summary>
/// A whole-object checksum as S3 sends it with <c>x-amz-checksum-mode: ENABLED</c> (x-amz-checksum-crc32,
/// -crc32c, -crc64nvme, -sha1, -sha256: base64 of the big-endian digest), computed while the body streams.
/// Composite checksums of multipart uploads ("...-N") describe parts, not the body, and are not used.
/// </summary>
internal sealed class ObjectChecksum : IDisposable
{
    internal static readonly string[] Headers = { "x-amz-checksum-crc64nvme", "x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-sha256", "x-amz-checksum-sha1" };

    private readonly IncrementalHash? _hash;
    private readonly ReflectedCrc? _crc;

    private ObjectChecksum(string algorithm, string expected, IncrementalHash? hash, ReflectedCrc? crc)
    {
        Algorithm = algorithm;
        Expected = expected;
        _hash = hash;
        _crc = crc;
    }

    public string Algorithm { get; }

    public string Expected { get; }

    /// <summary>The checksum for a response header, or null when the header is absent, composite or unknown.</summary>
    public static ObjectChecksum? For(string header, string? value, string? checksumType)
    {
        if (string.IsNullOrEmpty(value) || value.Contains('-') || string.Equals(checksumType, "COMPOSITE", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string algorithm = header["x-amz-checksum-".Length..].ToUpperInvariant();
        return algorithm switch
        {
            "CRC32" => new ObjectChecksum(algorithm, value, null, ReflectedCrc.Crc32()),
            "CRC32C" => new ObjectChecksum(algorithm, value, null, ReflectedCrc.Crc32C()),
            "CRC64NVME" => new ObjectChecksum(algorithm, value, null, ReflectedCrc.Crc64Nvme()),
            "SHA1" => new ObjectChecksum(algorithm, value, IncrementalHash.CreateHash(HashAlgorithmName.SHA1), null),
            "SHA256" => new ObjectChecksum(algorithm, value, IncrementalHash.CreateHash(HashAlgorithmName.SHA256), null),
            _ => null,
        };
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_hash is not null)
        {
            _hash.AppendData(data);
        }
        else
        {
            _crc!.Append(data);
        }
    }

    /// <summary>The digest of everything appended, base64 as S3 writes it.</summary>
    public string Actual() => Convert.ToBase64String(_hash is not null ? _hash.GetCurrentHash() : _crc!.Digest());

    public bool Matches() => string.Equals(Actual(), Expected, StringComparison.Ordinal);

    public void Dispose() => _hash?.Dispose();
}

/// <summary>A table-driven reflected CRC (refin = refout = true, init and xorout all ones), 32 or 64 bits wide.</summary>
internal sealed class ReflectedCrc
{
    private static readonly Lazy<ulong[]> Crc32Table = new(() => Table(0xEDB88320UL));
    private static readonly Lazy<ulong[]> Crc32CTable = new(() => Table(0x82F63B78UL));
    private static readonly Lazy<ulong[]> Crc64NvmeTable = new(() => Table(0x9A6C9329AC4BC9B5UL));

    private readonly ulong[] _table;
    private readonly int _width;
    private readonly ulong _mask;
    private ulong _state;

    private ReflectedCrc(ulong[] table, int width)
    {
        _table = table;
        _width = width;
        _mask = width == 64 ? ulong.MaxValue : (1UL << width) - 1;
        _state = _mask;
    }

    public static ReflectedCrc Crc32() => new(Crc32Table.Value, 32);

    public static ReflectedCrc Crc32C() => new(Crc32CTable.Value, 32);

    public static ReflectedCrc Crc64Nvme() => new(Crc64NvmeTable.Value, 64);

    public ulong Value => (_state ^ _mask) & _mask;

    public void Append(ReadOnlySpan<byte> data)
    {
        ulong crc = _state;
        var table = _table;
        foreach (byte b in data)
        {
            crc = table[(int)((crc ^ b) & 0xFF)] ^ (crc >> 8);
        }

        _state = crc;
    }

    /// <summary>The value as big-endian bytes (4 or 8).</summary>
    public byte[] Digest()
    {
        var bytes = new byte[_width / 8];
        if (_width == 64)
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes, Value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)Value);
        }

        return bytes;
    }

    private static ulong[] Table(ulong reflectedPolynomial)
    {
        var table = new ulong[256];
        for (ulong i = 0; i < 256; i++)
        {
            ulong c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ reflectedPolynomial : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
