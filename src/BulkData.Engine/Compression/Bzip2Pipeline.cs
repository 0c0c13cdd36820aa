using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace BulkData.Engine.Compression;

/// <summary>A verified piece of decoded output: <see cref="Length"/> bytes of a pooled <see cref="Buffer"/>.</summary>
internal readonly record struct DecodedChunk(byte[] Buffer, int Length);

/// <summary>
/// The parallel decoder behind <see cref="Bzip2DecoderStream"/> and <see cref="FileExpander"/>.
/// <para>
/// A reader thread reads the compressed bytes in order and finds every 48-bit block magic and end-of-stream
/// magic at any bit offset. Each candidate becomes a job holding the bytes from it to the next candidate.
/// Worker threads decode block candidates speculatively, each from its own bytes. An orderer walks the chain
/// of real boundaries: the stream header ends where the first block must begin, and each decoded block ends
/// where the next must begin. Only a candidate found exactly there is accepted; candidates that fall inside
/// an accepted block (a magic-like bit pattern in compressed data) are dropped whatever their decoding said,
/// and a real block cut short by such a candidate is decoded again over the following bytes. So correctness
/// never depends on the magic being unique. The orderer checks each block's CRC, the stream's combined CRC
/// and sizes, and hands out the decoded bytes in order. Jobs in flight are bounded, so memory is a few blocks
/// per thread whatever the file's size.
/// </para>
/// </summary>
internal sealed class Bzip2Pipeline : IDisposable
{
    /// <summary>No valid block is longer than this once compressed (900000 symbols of at most 20 bits, plus tables).</summary>
    internal const int MaxBlockSpan = 3 << 20;

    private const int ReadSize = 1 << 20;

    private static readonly bool[] PairFilter = BuildPairFilter();

    private readonly Stream _input;
    private readonly string _source;
    private readonly int _threads;
    private readonly CancellationTokenSource _cts = new();
    private readonly BlockingCollection<Job> _ordered;
    private readonly BlockingCollection<Job> _work = new(new ConcurrentQueue<Job>());
    private readonly Channel<DecodedChunk> _output = Channel.CreateBounded<DecodedChunk>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
    private readonly List<Thread> _threadsStarted = new();
    private readonly List<Job> _lookahead = new();
    private Bzip2BlockDecoder? _ordererDecoder;
    private Exception? _failure;
    private long _delivered;
    private int _started;
    private int _firstLevel;
    private int _disposed;

    // Tests only: also treat bit 3 of every byte at a multiple of this offset as a block candidate, to
    // exercise the rejection of false block magics and the re-decoding of blocks cut short by them.
    private readonly long _falseCandidateInterval;

    public Bzip2Pipeline(Stream input, int threads, string source, long falseCandidateInterval = 0)
    {
        _falseCandidateInterval = falseCandidateInterval;
        _input = input;
        _source = source;
        _threads = threads <= 0 ? Environment.ProcessorCount : threads;
        _ordered = new BlockingCollection<Job>(new ConcurrentQueue<Job>(), (_threads * 2) + 2);
    }

    /// <summary>Compressed bytes up to the end of the last block handed out.</summary>
    public long CompressedBytesDelivered => Interlocked.Read(ref _delivered);

    private enum JobKind
    {
        Block,
        EndOfStream,
        Failure,
    }

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        StartThread(Produce, "bzip2 reader");
        for (int i = 0; i < _threads; i++)
        {
            StartThread(Work, "bzip2 decoder " + i.ToString(CultureInfo.InvariantCulture));
        }

        StartThread(Order, "bzip2 orderer");
    }

    /// <summary>The next verified chunk, or null at the end of the data. Throws what failed, in stream order.</summary>
    public async ValueTask<DecodedChunk?> ReadAsync(CancellationToken ct)
    {
        Start();
        var reader = _output.Reader;
        while (true)
        {
            if (reader.TryRead(out var chunk))
            {
                return chunk;
            }

            bool more;
            try
            {
                more = await reader.WaitToReadAsync(ct).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                more = false;
            }

            if (!more)
            {
                if (_failure is not null)
                {
                    ExceptionDispatchInfo.Throw(_failure);
                }

                return null;
            }
        }
    }

    public DecodedChunk? Read(CancellationToken ct)
    {
        Start();
        if (_output.Reader.TryRead(out var chunk))
        {
            return chunk;
        }

        return ReadAsync(ct).AsTask().GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _cts.Cancel();
        foreach (var t in _threadsStarted)
        {
            t.Join();
        }

        while (_output.Reader.TryRead(out var chunk))
        {
            ArrayPool<byte>.Shared.Return(chunk.Buffer);
        }

        _cts.Dispose();
    }

    private void StartThread(Action body, string name)
    {
        var thread = new Thread(() => body()) { IsBackground = true, Name = name };
        _threadsStarted.Add(thread);
        thread.Start();
    }

    private string Where(long bit) => string.Create(CultureInfo.InvariantCulture, $"compressed byte {bit >> 3} (bit {bit & 7})");

    private BulkDataException Invalid(string message)
        => new(BulkErrorKind.InvalidData, $"{_source}: {message}", _source);

    // ---------------------------------------------------------------- reader: find candidates, cut jobs

    private void Produce()
    {
        var ct = _cts.Token;
        try
        {
            ProduceCore(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            try
            {
                _ordered.Add(new Job { Kind = JobKind.Failure, Failure = ex }, ct);
            }
            catch (OperationCanceledException)
            {
            }
        }
        finally
        {
            _ordered.CompleteAdding();
            _work.CompleteAdding();
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void ProduceCore(CancellationToken ct)
    {
        byte[] window = new byte[4 * ReadSize];
        long windowBase = 0;    // absolute offset of window[0]
        int windowLength = 0;
        long scanFrom = 0;      // absolute byte: candidates starting in earlier bytes are all found
        long lastBit = -1;      // the pending candidate (bit), or -1
        bool lastIsEnd = false;
        bool eof = false;

        while (!eof)
        {
            ct.ThrowIfCancellationRequested();

            // Keep the bytes from the pending candidate (or the scan point) on; make room for a read.
            long keepFrom = lastBit >= 0 ? lastBit >> 3 : Math.Max(0, scanFrom - 8);
            int drop = (int)(keepFrom - windowBase);
            if (drop > 0)
            {
                Buffer.BlockCopy(window, drop, window, 0, windowLength - drop);
                windowLength -= drop;
                windowBase += drop;
            }

            if (window.Length - windowLength < ReadSize)
            {
                Array.Resize(ref window, window.Length * 2);
            }

            int got = _input.Read(window, windowLength, ReadSize);
            if (got == 0)
            {
                eof = true;
            }

            windowLength += got;

            if (windowBase == 0 && scanFrom == 0)
            {
                if (windowLength < 4 && !eof)
                {
                    continue;
                }

                _firstLevel = ParseHeader(window.AsSpan(0, windowLength), 0, eof);
                scanFrom = 4;
            }

            // Scan bytes whose 7-byte window is complete (at the end of the input, whatever is left).
            long scanTo = windowBase + windowLength - (eof ? 5 : 6);
            for (long i = scanFrom; i < scanTo; i++)
            {
                int w = (int)(i - windowBase);
                bool fake = _falseCandidateInterval > 0 && i % _falseCandidateInterval == 0;
                if (!PairFilter[(window[w + 1] << 8) | window[w + 2]] && !fake)
                {
                    continue;
                }

                ulong v = 0;
                for (int k = 0; k < 7; k++)
                {
                    v = (v << 8) | (w + k < windowLength ? window[w + k] : (byte)0);
                }

                for (int s = 0; s < 8; s++)
                {
                    ulong m = (v >> (8 - s)) & 0xFFFF_FFFF_FFFF;
                    bool isBlock = m == Bzip2BlockDecoder.BlockMagic;
                    if (!isBlock && m != Bzip2BlockDecoder.EndMagic)
                    {
                        if (!(fake && s == 3))
                        {
                            continue;
                        }

                        isBlock = true;
                    }

                    long bit = (i * 8) + s;
                    if (bit + 48 > (windowBase + windowLength) * 8)
                    {
                        continue;
                    }

                    if (lastBit >= 0)
                    {
                        Emit(window, windowBase, lastBit, lastIsEnd, (bit + 7) >> 3, bit, atEof: false, ct);
                    }

                    lastBit = bit;
                    lastIsEnd = !isBlock;
                }
            }

            scanFrom = Math.Max(scanFrom, scanTo);
            long pendingFrom = lastBit >= 0 ? lastBit >> 3 : 4;
            if (windowBase + windowLength - pendingFrom > MaxBlockSpan)
            {
                if (lastBit >= 0)
                {
                    // Hand the orderer what there is: if the candidate is a real block it reports it cut short.
                    Emit(window, windowBase, lastBit, lastIsEnd, windowBase + windowLength, -1, atEof: false, ct);
                }

                throw Invalid($"no bzip2 block boundary within {MaxBlockSpan} bytes after {Where(lastBit >= 0 ? lastBit : 32)}: the data is not a valid bzip2 stream.");
            }
        }

        if (lastBit >= 0)
        {
            Emit(window, windowBase, lastBit, lastIsEnd, windowBase + windowLength, -1, atEof: true, ct);
        }
    }

    private int ParseHeader(ReadOnlySpan<byte> bytes, long at, bool eof)
    {
        if (bytes.Length == 0 && eof)
        {
            throw Invalid("the file is empty, not a bzip2 stream.");
        }

        if (bytes.Length < 4 || bytes[0] != (byte)'B' || bytes[1] != (byte)'Z' || bytes[2] != (byte)'h' || bytes[3] < (byte)'1' || bytes[3] > (byte)'9')
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture, $"not a bzip2 stream (no 'BZh1'..'BZh9' header at compressed byte {at})."));
        }

        return bytes[3] - '0';
    }

    private void Emit(byte[] window, long windowBase, long startBit, bool isEnd, long endByte, long nextBit, bool atEof, CancellationToken ct)
    {
        long startByte = startBit >> 3;
        int length = (int)(endByte - startByte);
        byte[] data = ArrayPool<byte>.Shared.Rent(Math.Max(length, 16));
        Buffer.BlockCopy(window, (int)(startByte - windowBase), data, 0, length);
        var job = new Job
        {
            Kind = isEnd ? JobKind.EndOfStream : JobKind.Block,
            StartBit = startBit,
            Data = data,
            Length = length,
            NextBit = nextBit,
            AtEof = atEof,
        };
        if (isEnd)
        {
            job.Done.Set();
        }

        _ordered.Add(job, ct);
        if (!isEnd)
        {
            _work.Add(job, ct);
        }
    }

    private static bool[] BuildPairFilter()
    {
        var filter = new bool[65536];
        foreach (ulong magic in new[] { Bzip2BlockDecoder.BlockMagic, Bzip2BlockDecoder.EndMagic })
        {
            for (int s = 0; s < 8; s++)
            {
                ulong v = magic << (8 - s); // the 56-bit window of bytes i..i+6 when the magic starts at bit s of byte i
                int b1 = (int)((v >> 40) & 0xFF);
                int b2 = (int)((v >> 32) & 0xFF);
                filter[(b1 << 8) | b2] = true;
            }
        }

        return filter;
    }

    // ---------------------------------------------------------------- workers: decode candidates

    private void Work()
    {
        var ct = _cts.Token;
        var decoder = new Bzip2BlockDecoder();
        try
        {
            foreach (var job in _work.GetConsumingEnumerable(ct))
            {
                try
                {
                    DecodeJob(decoder, job, job.Data!, job.Length);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Reported by the orderer if this candidate turns out to be a real block.
                    job.Status = BlockStatus.Invalid;
                    job.Info.Error = "decoder failure: " + ex.Message;
                }
                finally
                {
                    job.Done.Set();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static void DecodeJob(Bzip2BlockDecoder decoder, Job job, byte[] data, int length)
    {
        byte[] output = job.Output ?? ArrayPool<byte>.Shared.Rent(1 << 20);
        job.Status = decoder.Decode(new ReadOnlySpan<byte>(data, 0, length), (int)(job.StartBit & 7), ref output, out job.Info);
        job.Output = output;
    }

    // ---------------------------------------------------------------- orderer: accept the real chain, verify, hand out

    private void Order()
    {
        var ct = _cts.Token;
        try
        {
            OrderCore(ct);
            _output.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _output.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            _failure = ex;
            _output.Writer.TryComplete();
            _cts.Cancel();
        }
        finally
        {
            foreach (var job in _lookahead)
            {
                job.Release();
            }
        }
    }

    private Job? Next(int index, CancellationToken ct)
    {
        while (_lookahead.Count <= index)
        {
            if (!_ordered.TryTake(out var job, Timeout.Infinite, ct))
            {
                return null;
            }

            if (job.Kind == JobKind.Failure)
            {
                ExceptionDispatchInfo.Throw(job.Failure!);
            }

            _lookahead.Add(job);
        }

        return _lookahead[index];
    }

    private void Drop(CancellationToken ct)
    {
        var job = _lookahead[0];
        _lookahead.RemoveAt(0);
        job.Done.Wait(ct);
        job.Release();
    }

    private void OrderCore(CancellationToken ct)
    {
        long expected = 32;          // bit where the next block or end-of-stream marker must begin
        int level = -1;
        uint combined = 0;
        int blockNumber = 0;         // within the whole input, from 1, for messages
        long streamStart = 0;

        while (true)
        {
            var job = Next(0, ct);
            if (level < 0)
            {
                level = _firstLevel;
            }

            if (job is null)
            {
                throw Invalid($"the data ends at {Where(expected)} without a bzip2 end-of-stream marker (truncated file?).");
            }

            if (job.StartBit < expected)
            {
                // A magic-like bit pattern inside data already accepted.
                Drop(ct);
                continue;
            }

            if (job.StartBit > expected)
            {
                throw Invalid($"no bzip2 block or end-of-stream marker at {Where(expected)}, where the previous {(blockNumber == 0 ? "stream header" : "block")} ends (corrupt data).");
            }

            if (job.Kind == JobKind.EndOfStream)
            {
                // Marker, combined CRC, padding to a byte, then the end of input or another stream's header.
                int firstBit = (int)(job.StartBit & 7);
                byte[] bytes = Gather(job, (firstBit + 80 + 7) >> 3, out int have, out bool atEof, ct);
                if (have < (firstBit + 80 + 7) >> 3)
                {
                    throw Invalid($"the data ends inside the end-of-stream marker at {Where(job.StartBit)} (truncated file?).");
                }

                uint stored = ReadBits32(bytes, firstBit + 48);
                if (stored != combined)
                {
                    throw Invalid(string.Create(CultureInfo.InvariantCulture, $"stream CRC mismatch at the end-of-stream marker at {Where(job.StartBit)} (stream starting at compressed byte {streamStart}): stored 0x{stored:X8}, computed 0x{combined:X8} (corrupt data)."));
                }

                long after = (job.StartBit >> 3) + ((firstBit + 80 + 7) >> 3);
                int offset = (int)(after - (job.StartBit >> 3));
                bytes = Gather(job, offset + 4, out have, out atEof, ct);
                if (have == offset && atEof)
                {
                    Deliver(null, after);
                    Drop(ct);
                    return;
                }

                if (have < offset + 4 || bytes[offset] != 'B' || bytes[offset + 1] != 'Z' || bytes[offset + 2] != 'h' || bytes[offset + 3] < '1' || bytes[offset + 3] > '9')
                {
                    throw Invalid(string.Create(CultureInfo.InvariantCulture, $"unexpected data at compressed byte {after}, after the end of the bzip2 stream (neither the end of the file nor another stream)."));
                }

                level = bytes[offset + 3] - '0';
                combined = 0;
                streamStart = after;
                expected = (after + 4) * 8;
                Drop(ct);
                continue;
            }

            blockNumber++;
            job.Done.Wait(ct);
            if (job.Status == BlockStatus.NeedsMore)
            {
                Redecode(job, ct);
            }

            if (job.Status == BlockStatus.NeedsMore)
            {
                throw Invalid($"block {blockNumber} at {Where(job.StartBit)} is cut short: the data ends before the block does (truncated file?).");
            }

            if (job.Status == BlockStatus.Invalid)
            {
                throw Invalid($"block {blockNumber} at {Where(job.StartBit)} is invalid: {job.Info.Error} (corrupt data).");
            }

            if (job.Info.Symbols > level * 100_000)
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture, $"block {blockNumber} at {Where(job.StartBit)} holds {job.Info.Symbols} bytes, more than level {level} allows (corrupt data)."));
            }

            if (job.Info.StoredCrc != job.Info.ComputedCrc)
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture, $"block {blockNumber} at {Where(job.StartBit)}: CRC mismatch (stored 0x{job.Info.StoredCrc:X8}, computed 0x{job.Info.ComputedCrc:X8}) (corrupt data)."));
            }

            combined = Bzip2Crc.Combine(combined, job.Info.StoredCrc);
            expected = job.StartBit - (job.StartBit & 7) + job.Info.EndBit;
            var chunk = new DecodedChunk(job.Output!, job.Info.OutputLength);
            job.Output = null;
            Deliver(chunk, expected >> 3);
            Drop(ct);
        }

        void Deliver(DecodedChunk? chunk, long position)
        {
            if (chunk is { } c)
            {
                if (c.Length == 0)
                {
                    ArrayPool<byte>.Shared.Return(c.Buffer);
                }
                else
                {
                    while (!_output.Writer.TryWrite(c))
                    {
                        if (!_output.Writer.WaitToWriteAsync(ct).AsTask().GetAwaiter().GetResult())
                        {
                            ArrayPool<byte>.Shared.Return(c.Buffer);
                            return;
                        }
                    }
                }
            }

            Interlocked.Exchange(ref _delivered, position);
        }
    }

    /// <summary>Decodes a block again over its bytes and those of the following candidates, until it ends or the data does.</summary>
    private void Redecode(Job job, CancellationToken ct)
    {
        _ordererDecoder ??= new Bzip2BlockDecoder();
        int want = job.Length;
        while (job.Status == BlockStatus.NeedsMore)
        {
            byte[] bytes = Gather(job, want + 1, out int have, out bool atEof, ct);
            if (have <= want && atEof)
            {
                return;
            }

            if (have > MaxBlockSpan + 64)
            {
                job.Status = BlockStatus.Invalid;
                job.Info.Error = $"longer than {MaxBlockSpan} bytes";
                return;
            }

            DecodeJob(_ordererDecoder, job, bytes, have);
            want = have;
            if (atEof)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The bytes from <paramref name="job"/>'s first byte on, at least <paramref name="min"/> of them when the
    /// input has them: its own bytes, continued by those of the following candidates.
    /// </summary>
    private byte[] Gather(Job job, int min, out int have, out bool atEof, CancellationToken ct)
    {
        long start = job.StartBit >> 3;
        if (job.Length >= min || job.AtEof)
        {
            have = job.Length;
            atEof = job.AtEof;
            return job.Data!;
        }

        var list = new List<byte>(min);
        int index = 0;
        var current = job;
        while (true)
        {
            var next = Next(index + 1, ct);
            if (next is null)
            {
                // The last candidate's bytes run to the end of the input.
                AppendFrom(list, current, start);
                have = list.Count;
                atEof = current.AtEof;
                return list.ToArray();
            }

            // The current candidate's bytes up to the next one's first byte.
            AppendUpTo(list, current, start, next.StartBit >> 3);
            if (next.AtEof || list.Count + next.Length >= min)
            {
                AppendFrom(list, next, start);
                have = list.Count;
                atEof = next.AtEof;
                return list.ToArray();
            }

            current = next;
            index++;
        }
    }

    private static void AppendUpTo(List<byte> list, Job job, long start, long untilByte)
    {
        long jobStart = job.StartBit >> 3;
        int from = (int)(start + list.Count - jobStart);
        int to = (int)(untilByte - jobStart);
        for (int i = from; i < to; i++)
        {
            list.Add(job.Data![i]);
        }
    }

    private static void AppendFrom(List<byte> list, Job job, long start)
    {
        long jobStart = job.StartBit >> 3;
        int from = (int)(start + list.Count - jobStart);
        for (int i = from; i < job.Length; i++)
        {
            list.Add(job.Data![i]);
        }
    }

    private static uint ReadBits32(byte[] bytes, int bit)
    {
        uint v = 0;
        for (int i = 0; i < 32; i++)
        {
            int b = bit + i;
            v = (v << 1) | (uint)((bytes[b >> 3] >> (7 - (b & 7))) & 1);
        }

        return v;
    }

    private sealed class Job
    {
        public JobKind Kind;
        public long StartBit;
        public byte[]? Data;
        public int Length;
        public long NextBit;
        public bool AtEof;
        public Exception? Failure;
        public BlockStatus Status;
        public BlockInfo Info;
        public byte[]? Output;
        public readonly ManualResetEventSlim Done = new(false);

        public void Release()
        {
            if (!Done.IsSet)
            {
                // A worker may still read these arrays: leave them to the garbage collector.
                return;
            }

            if (Data is not null)
            {
                ArrayPool<byte>.Shared.Return(Data);
                Data = null;
            }

            if (Output is not null)
            {
                ArrayPool<byte>.Shared.Return(Output);
                Output = null;
            }
        }
    }
}
