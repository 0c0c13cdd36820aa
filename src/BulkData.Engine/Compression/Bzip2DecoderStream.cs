using System.Buffers;

namespace BulkData.Engine.Compression;

/// <summary>Options of <see cref="Bzip2DecoderStream"/>.</summary>
internal sealed record Bzip2DecoderOptions
{
    /// <summary>Blocks decoded at once; 0 means one per processor.</summary>
    public int Threads { get; init; }

    /// <summary>The file or object the compressed bytes come from, named in errors.</summary>
    public string? SourceName { get; init; }
}

/// <summary>
/// Reads the decompressed bytes of a bzip2 file (one stream or several concatenated, as pbzip2 writes),
/// decoding its blocks on all cores. Each block's CRC and each stream's combined CRC are checked before
/// its bytes are handed out, in order. Read-only and forward-only. Corrupt, truncated or foreign data
/// throws <see cref="BulkDataException"/> (<see cref="BulkErrorKind.InvalidData"/>) naming the source and
/// the block's compressed position.
/// </summary>
internal sealed class Bzip2DecoderStream : Stream
{
    private readonly Stream _compressed;
    private readonly bool _leaveOpen;
    private readonly Bzip2Pipeline _pipeline;
    private byte[]? _chunk;
    private int _chunkLength;
    private int _chunkPos;
    private bool _ended;
    private bool _disposed;
    private long _position;

    public Bzip2DecoderStream(Stream compressed, Bzip2DecoderOptions? options = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        if (!compressed.CanRead)
        {
            throw new ArgumentException("The compressed stream must be readable.", nameof(compressed));
        }

        options ??= new Bzip2DecoderOptions();
        if (options.Threads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Threads cannot be negative.");
        }

        _compressed = compressed;
        _leaveOpen = leaveOpen;
        _pipeline = new Bzip2Pipeline(compressed, options.Threads, options.SourceName ?? "bzip2 data");
    }

    /// <summary>Compressed bytes consumed up to the end of the last block whose bytes were handed out.</summary>
    public long CompressedBytesRead => _pipeline.CompressedBytesDelivered;

    /// <summary>What the decoder did (candidates, decodes, buffers), for tests and benchmarks.</summary>
    internal Bzip2PipelineStats Statistics => _pipeline.Stats;

    public override bool CanRead => !_disposed;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    /// <summary>Decompressed bytes read so far.</summary>
    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_chunk is null || _chunkPos == _chunkLength)
        {
            if (_ended || !Take(_pipeline.Read(CancellationToken.None)))
            {
                return 0;
            }
        }

        return CopyOut(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_chunk is null || _chunkPos == _chunkLength)
        {
            if (_ended || !Take(await _pipeline.ReadAsync(cancellationToken).ConfigureAwait(false)))
            {
                return 0;
            }
        }

        return CopyOut(buffer.Span);
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    /// <summary>Writes the whole decompressed content to <paramref name="destination"/> without an intermediate copy.</summary>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_chunk is not null && _chunkPos < _chunkLength)
        {
            await destination.WriteAsync(_chunk.AsMemory(_chunkPos, _chunkLength - _chunkPos), cancellationToken).ConfigureAwait(false);
            _position += _chunkLength - _chunkPos;
            _chunkPos = _chunkLength;
        }

        while (!_ended && Take(await _pipeline.ReadAsync(cancellationToken).ConfigureAwait(false)))
        {
            await destination.WriteAsync(_chunk.AsMemory(0, _chunkLength), cancellationToken).ConfigureAwait(false);
            _position += _chunkLength;
            _chunkPos = _chunkLength;
        }
    }

    public override void CopyTo(Stream destination, int bufferSize)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_chunk is not null && _chunkPos < _chunkLength)
        {
            destination.Write(_chunk, _chunkPos, _chunkLength - _chunkPos);
            _position += _chunkLength - _chunkPos;
            _chunkPos = _chunkLength;
        }

        while (!_ended && Take(_pipeline.Read(CancellationToken.None)))
        {
            destination.Write(_chunk!, 0, _chunkLength);
            _position += _chunkLength;
            _chunkPos = _chunkLength;
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _disposed = true;
            _pipeline.Dispose();
            ReturnChunk();
            if (!_leaveOpen)
            {
                _compressed.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private bool Take(DecodedChunk? next)
    {
        ReturnChunk();
        if (next is not { } c)
        {
            _ended = true;
            return false;
        }

        _chunk = c.Buffer;
        _chunkLength = c.Length;
        _chunkPos = 0;
        return true;
    }

    private void ReturnChunk()
    {
        if (_chunk is not null)
        {
            ArrayPool<byte>.Shared.Return(_chunk);
            _chunk = null;
            _chunkLength = 0;
            _chunkPos = 0;
        }
    }

    private int CopyOut(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, _chunkLength - _chunkPos);
        _chunk.AsSpan(_chunkPos, n).CopyTo(buffer);
        _chunkPos += n;
        _position += n;
        return n;
    }
}
