using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace BulkData.Engine.Compression;

/// <summary>A verified piece of decoded output: <see cref="Length"/> bytes of a pooled <see cref="Buffer"/>.</summary>
internal readonly record struct DecodedChunk(byte[] Buffer, int Length);

/// <summary>What one pipeline did, for the tests' structural bounds and the hostile-input benchmark.</summary>
internal sealed class Bzip2PipelineStats
{
    /// <summary>Magics found (block and end-of-stream) that became jobs.</summary>
    public long Candidates;

    /// <summary>Magics found inside data already accepted, never made jobs.</summary>
    public long CandidatesSkipped;

    /// <summary>Candidates dropped as false (inside an accepted block or end-of-stream trailer).</summary>
    public long CandidatesRejected;

    /// <summary>Speculative block decodes started by the decoder threads (at most one per candidate).</summary>
    public long SpeculativeDecodes;

    /// <summary>Speculative decodes whose transform was done (only for candidates accepted as real blocks).</summary>
    public long TransformsDone;

    /// <summary>Blocks the orderer decoded itself, once each: real blocks that false magics cut short, or that end elsewhere than at the next magic.</summary>
    public long OrdererDecodes;

    /// <summary>Blocks handed out.</summary>
    public long Blocks;

    public int BuffersOutstanding;
    public int PeakBuffersOutstanding;
    public long BytesOutstanding;
    public long PeakBytesOutstanding;
}

/// <summary>
/// The parallel decoder behind <see cref="Bzip2DecoderStream"/> and <see cref="FileExpander"/>.
/// <para>
/// A reader thread reads the compressed bytes in order and finds every 48-bit block magic and end-of-stream
/// magic at any bit offset. Each candidate becomes a job holding the bytes from it to the next candidate.
/// Decoder threads decode block candidates speculatively, each over its own bytes only, and in two phases:
/// first the tables and symbols (up to the end-of-block symbol), then, only once the orderer has confirmed
/// that the candidate lies on the chain of real boundaries, the transform into bytes. An orderer walks that
/// chain: the stream header ends where the first block must begin, and each block ends where the next must
/// begin. Only a candidate found exactly there is confirmed; candidates inside confirmed data (a magic-like
/// bit pattern in compressed data) are dropped, their buffers returned at once, and later ones inside it are
/// never made jobs. A real block cut short by such a candidate is decoded once more by the orderer, whole,
/// reading on through the following candidates' bytes as far as it needs. So each candidate costs at most one
/// speculative decode bounded by its own bytes, each block at most two, and correctness never depends on the
/// magic being unique. A deliverer checks each block's CRC and size and each stream's combined CRC and hands
/// out the decoded bytes in order. Jobs in flight are bounded, so memory is a few blocks per thread whatever
/// the file's size or content.
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
    private readonly BlockingCollection<Job> _ordered = new(new ConcurrentQueue<Job>());
    private readonly object _budgetGate = new();
    private readonly int _jobLimit;  // jobs between the reader and the orderer, whatever their size
    private long _inFlight;          // their bytes, each with JobCharge
    private int _jobsInFlight;
    private bool _readerWaiting;
    private readonly BlockingCollection<Job> _work = new(new ConcurrentQueue<Job>());
    private readonly BlockingCollection<Job> _accepted;
    private readonly Channel<DecodedChunk> _output = Channel.CreateBounded<DecodedChunk>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
    private readonly List<Thread> _threadsStarted = new();
    private readonly List<Job> _lookahead = new();
    private Bzip2BlockDecoder? _ordererDecoder;
    private byte[]? _ordererBuffer;
    private Exception? _failure;
    private long _delivered;
    private long _resolved;      // bit before which every candidate is known false (the orderer's expected position)
    private int _started;
    private int _firstLevel;
    private int _disposed;

    public Bzip2Pipeline(Stream input, int threads, string source)
    {
        _input = input;
        _source = source;
        _threads = threads <= 0 ? Environment.ProcessorCount : threads;
        _jobLimit = (_threads * 2) + 2;
        _accepted = new BlockingCollection<Job>(new ConcurrentQueue<Job>(), _threads + 2);
    }

    /// <summary>What each job counts against the budget besides its bytes: its objects and events.</summary>
    internal const int JobCharge = 1024;

    /// <summary>Past the job limit, the bytes (with <see cref="JobCharge"/> per job) that jobs in flight may still hold.</summary>
    internal const long SmallJobBudget = 2 << 20;

    /// <summary>The most jobs between the reader and the orderer: 2 per thread + 2, or as many as fit in <see cref="SmallJobBudget"/>.</summary>
    internal static long JobLimitFor(int threads) => Math.Max((threads * 2) + 2, SmallJobBudget / JobCharge);

    /// <summary>Compressed bytes up to the end of the last block handed out.</summary>
    public long CompressedBytesDelivered => Interlocked.Read(ref _delivered);

    /// <summary>Counters of this pipeline's work and buffers.</summary>
    internal Bzip2PipelineStats Stats { get; } = new();

    private enum JobKind
    {
        Block,
        EndOfStream,
        Failure,
    }

    /// <summary>How a speculative decode of a block candidate over its own bytes ended.</summary>
    private enum FirstPhase
    {
        /// <summary>Not decoded: the candidate was known false before a decoder thread took it.</summary>
        Skipped,

        /// <summary>The end-of-block symbol ends exactly where the next candidate begins.</summary>
        EndsAtNext,

        /// <summary>The end-of-block symbol came, but not where the next candidate begins.</summary>
        EndsElsewhere,

        /// <summary>The bytes up to the next candidate ran out first.</summary>
        CutShort,

        Invalid,
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
        StartThread(DeliverAll, "bzip2 deliverer");
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

    private byte[] Rent(int length)
    {
        byte[] array = ArrayPool<byte>.Shared.Rent(length);
        Counted(array, +1);
        return array;
    }

    private void Return(byte[] array)
    {
        Counted(array, -1);
        ArrayPool<byte>.Shared.Return(array);
    }

    /// <summary>Counts a pooled array into (+1) or out of (-1) this pipeline's hands.</summary>
    private void Counted(byte[] array, int sign)
    {
        var s = Stats;
        int count = Interlocked.Add(ref s.BuffersOutstanding, sign);
        long bytes = Interlocked.Add(ref s.BytesOutstanding, sign * (long)array.Length);
        if (sign > 0)
        {
            int peak;
            while (count > (peak = Volatile.Read(ref s.PeakBuffersOutstanding)) && Interlocked.CompareExchange(ref s.PeakBuffersOutstanding, count, peak) != peak)
            {
            }

            long peakBytes;
            while (bytes > (peakBytes = Interlocked.Read(ref s.PeakBytesOutstanding)) && Interlocked.CompareExchange(ref s.PeakBytesOutstanding, bytes, peakBytes) != peakBytes)
            {
            }
        }
    }

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
                _ordered.Add(new Job(this) { Kind = JobKind.Failure, Failure = ex }, ct);
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
                if (!PairFilter[(window[w + 1] << 8) | window[w + 2]])
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
                        continue;
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
        if (startBit < Volatile.Read(ref _resolved))
        {
            // Inside data the orderer has already accepted: a magic-like pattern, known false.
            Interlocked.Increment(ref Stats.CandidatesSkipped);
            return;
        }

        long startByte = startBit >> 3;
        int length = (int)(endByte - startByte);
        byte[] data = Rent(Math.Max(length, 16));
        Buffer.BlockCopy(window, (int)(startByte - windowBase), data, 0, length);
        var job = new Job(this)
        {
            Kind = isEnd ? JobKind.EndOfStream : JobKind.Block,
            StartBit = startBit,
            Data = data,
            Length = length,
            NextBit = nextBit,
            AtEof = atEof,
        };
        Interlocked.Increment(ref Stats.Candidates);
        if (isEnd)
        {
            job.Refs = 1;
            job.Done.Set();
        }
        else
        {
            job.Refs = 2;
        }

        // Jobs in flight: as many as 2 per thread + 2 (a few real blocks per thread), and beyond that only
        // while their bytes stay within a small budget (the many tiny jobs of false magics, handed over in
        // bulk rather than one wake-up each).
        job.Charge = length + JobCharge;
        lock (_budgetGate)
        {
            while (_jobsInFlight >= _jobLimit && _inFlight + job.Charge > SmallJobBudget)
            {
                _readerWaiting = true;
                Monitor.Wait(_budgetGate, 50);
                ct.ThrowIfCancellationRequested();
            }

            _inFlight += job.Charge;
            _jobsInFlight++;
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

    // ---------------------------------------------------------------- decoder threads: speculative decodes

    private void Work()
    {
        var ct = _cts.Token;
        var decoder = Bzip2BlockDecoder.Rent();
        try
        {
            foreach (var job in _work.GetConsumingEnumerable(ct))
            {
                if (Interlocked.CompareExchange(ref job.Claim, Job.Claimed, Job.Queued) != Job.Queued)
                {
                    // Rejected before anyone took it: the orderer returned its buffers.
                    continue;
                }

                try
                {
                    DecodeJob(decoder, job, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Reported by the deliverer if this candidate turns out to be a real block.
                    job.First = FirstPhase.Invalid;
                    job.Status = BlockStatus.Invalid;
                    job.Info.Error = "decoder failure: " + ex.Message;
                }
                finally
                {
                    job.FirstDone.Set();
                    job.Done.Set();
                    job.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Bzip2BlockDecoder.Return(decoder);
        }
    }

    private void DecodeJob(Bzip2BlockDecoder decoder, Job job, CancellationToken ct)
    {
        if (job.StartBit < Volatile.Read(ref _resolved) || job.Verdict == Job.False)
        {
            job.First = FirstPhase.Skipped;
            return;
        }

        Interlocked.Increment(ref Stats.SpeculativeDecodes);
        long startByteBit = job.StartBit & ~7L;
        var status = decoder.DecodeSymbols(job.Data!, job.Length, (int)(job.StartBit & 7), null, out job.Info);
        job.Status = status;
        if (status != BlockStatus.Ok)
        {
            job.First = status == BlockStatus.NeedsMore ? FirstPhase.CutShort : FirstPhase.Invalid;
            return;
        }

        job.EndBit = startByteBit + job.Info.EndBit;
        if (job.EndBit != job.NextBit)
        {
            job.First = FirstPhase.EndsElsewhere;
            return;
        }

        // A whole block that ends where the next candidate begins: transform it once the orderer confirms it.
        job.First = FirstPhase.EndsAtNext;
        job.FirstDone.Set();
        job.Decided.Wait(ct);
        if (job.Verdict != Job.Real)
        {
            return;
        }

        Interlocked.Increment(ref Stats.TransformsDone);
        byte[]? output = null;
        job.Status = decoder.Finish(ref output, ref job.Info);
        Counted(output!, +1);
        job.Output = output;
    }

    // ---------------------------------------------------------------- orderer: walk the chain of real boundaries

    private void Order()
    {
        var ct = _cts.Token;
        try
        {
            OrderCore(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            try
            {
                _accepted.Add(new Job(this) { Kind = JobKind.Failure, Failure = ex }, ct);
            }
            catch (OperationCanceledException)
            {
            }
        }
        finally
        {
            _accepted.CompleteAdding();
            foreach (var job in _lookahead)
            {
                Reject(job, count: false);
            }

            _lookahead.Clear();
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

            lock (_budgetGate)
            {
                _inFlight -= job.Charge;
                _jobsInFlight--;
                if (_readerWaiting && (_jobsInFlight < _jobLimit || _inFlight <= SmallJobBudget / 2))
                {
                    _readerWaiting = false;
                    Monitor.Pulse(_budgetGate);
                }
            }

            _lookahead.Add(job);
        }

        return _lookahead[index];
    }

    /// <summary>Drops a false candidate: a decoder thread that has it stops; buffers go back as soon as no thread reads them.</summary>
    private void Reject(Job job, bool count = true)
    {
        if (count)
        {
            Interlocked.Increment(ref Stats.CandidatesRejected);
        }

        job.Verdict = Job.False;
        job.Decided.Set();
        if (job.Kind == JobKind.Block && Interlocked.CompareExchange(ref job.Claim, Job.Cancelled, Job.Queued) == Job.Queued)
        {
            // No decoder thread will take it: its reference goes too.
            job.Release();
        }

        job.Release();
    }

    private void Accept(Job job, CancellationToken ct)
    {
        _lookahead.RemoveAt(0);
        _accepted.Add(job, ct);
    }

    private void OrderCore(CancellationToken ct)
    {
        long expected = 32;          // bit where the next block or end-of-stream marker must begin
        int level = _firstLevel;
        int blockNumber = 0;         // within the whole input, from 1, for messages
        long streamStart = 0;
        bool levelRead = false;

        while (true)
        {
            Volatile.Write(ref _resolved, expected);
            var job = Next(0, ct);
            if (!levelRead)
            {
                level = _firstLevel;
                levelRead = true;
            }

            if (job is null)
            {
                throw Invalid($"the data ends at {Where(expected)} without a bzip2 end-of-stream marker (truncated file?).");
            }

            if (job.StartBit < expected)
            {
                // A magic-like bit pattern inside data already accepted.
                _lookahead.RemoveAt(0);
                Reject(job);
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
                int trailer = (firstBit + 80 + 7) >> 3;
                byte[] bytes = Gather(job, trailer, out int have, out bool atEof, ct);
                if (have < trailer)
                {
                    throw Invalid($"the data ends inside the end-of-stream marker at {Where(job.StartBit)} (truncated file?).");
                }

                job.StoredCrc = ReadBits32(bytes, firstBit + 48);
                job.StreamStart = streamStart;
                long after = (job.StartBit >> 3) + trailer;
                job.EndBit = after * 8;
                bytes = Gather(job, trailer + 4, out have, out atEof, ct);
                if (have == trailer && atEof)
                {
                    job.Last = true;
                    Accept(job, ct);
                    return;
                }

                // The deliverer checks the stream's CRC before it reports what follows.
                Accept(job, ct);
                if (have < trailer + 4 || bytes[trailer] != 'B' || bytes[trailer + 1] != 'Z' || bytes[trailer + 2] != 'h' || bytes[trailer + 3] < '1' || bytes[trailer + 3] > '9')
                {
                    throw Invalid(string.Create(CultureInfo.InvariantCulture, $"unexpected data at compressed byte {after}, after the end of the bzip2 stream (neither the end of the file nor another stream)."));
                }

                level = bytes[trailer + 3] - '0';
                streamStart = after;
                expected = (after + 4) * 8;
                continue;
            }

            blockNumber++;
            job.Number = blockNumber;
            job.Level = level;
            job.Verdict = Job.Real;
            job.Decided.Set();
            job.FirstDone.Wait(ct);
            switch (job.First)
            {
                case FirstPhase.EndsAtNext:
                    // The decoder thread transforms it; the deliverer waits for that.
                    expected = job.EndBit;
                    Accept(job, ct);
                    continue;

                case FirstPhase.Invalid:
                    job.Done.Wait(ct);
                    Accept(job, ct);
                    return;

                default:
                    // Cut short by a false magic (or ending elsewhere, or not decoded): decode it here, whole.
                    job.Done.Wait(ct);
                    DecodeHere(job, ct);
                    Accept(job, ct);
                    if (job.Status != BlockStatus.Ok)
                    {
                        return;
                    }

                    expected = job.EndBit;
                    continue;
            }
        }
    }

    /// <summary>
    /// Decodes the block at <see cref="_lookahead"/>[0] in one pass, reading on through the bytes of the
    /// candidates that follow it as far as the block goes (at most <see cref="MaxBlockSpan"/> bytes).
    /// Candidates it reads past are inside it: they are dropped as it goes.
    /// </summary>
    private void DecodeHere(Job job, CancellationToken ct)
    {
        Interlocked.Increment(ref Stats.OrdererDecodes);
        _ordererDecoder ??= new Bzip2BlockDecoder();
        _ordererBuffer ??= GC.AllocateUninitializedArray<byte>(MaxBlockSpan + 64, pinned: true);
        int length = Math.Min(job.Length, _ordererBuffer.Length);
        Buffer.BlockCopy(job.Data!, 0, _ordererBuffer, 0, length);
        var supply = new FollowingBytes(this, job, ct);
        job.Status = _ordererDecoder.DecodeSymbols(_ordererBuffer, length, (int)(job.StartBit & 7), job.AtEof ? null : supply, out job.Info);
        if (job.Status == BlockStatus.NeedsMore && supply.AtLimit)
        {
            job.Status = BlockStatus.Invalid;
            job.Info.Error = $"longer than {MaxBlockSpan} bytes";
        }

        if (job.Status != BlockStatus.Ok)
        {
            return;
        }

        job.EndBit = (job.StartBit & ~7L) + job.Info.EndBit;
        byte[]? output = null;
        job.Status = _ordererDecoder.Finish(ref output, ref job.Info);
        Counted(output!, +1);
        job.Output = output;
    }

    /// <summary>The bytes of the candidates after the one being decoded by the orderer, appended to its buffer on demand.</summary>
    private sealed class FollowingBytes : Bzip2ByteSupply
    {
        private readonly Bzip2Pipeline _pipeline;
        private readonly long _startByte;
        private readonly CancellationToken _ct;
        private int _last;    // index in the lookahead of the last candidate whose bytes are in the buffer

        public FollowingBytes(Bzip2Pipeline pipeline, Job job, CancellationToken ct)
        {
            _pipeline = pipeline;
            _startByte = job.StartBit >> 3;
            _ct = ct;
        }

        public bool AtLimit { get; private set; }

        public override int Extend(int have)
        {
            var lookahead = _pipeline._lookahead;
            byte[] buffer = _pipeline._ordererBuffer!;

            // The decoder holds at most 8 bytes unread, plus 8 in its bit buffer, and its block goes on past
            // them: candidates that start before are inside it (if it is a valid block at all).
            long inside = _startByte + have - 24;
            int drop = 0;
            while (drop < _last && lookahead[1 + drop].StartBit >> 3 < inside)
            {
                drop++;
            }

            if (drop > 0)
            {
                for (int i = 1; i <= drop; i++)
                {
                    _pipeline.Reject(lookahead[i]);
                }

                lookahead.RemoveRange(1, drop);
                _last -= drop;
            }

            while (true)
            {
                if (have >= buffer.Length)
                {
                    AtLimit = true;
                    return have;
                }

                var next = _pipeline.Next(_last + 1, _ct);
                if (next is null)
                {
                    return have;
                }

                _last++;
                long from = _startByte + have - (next.StartBit >> 3);
                if (from < 0)
                {
                    throw new InvalidOperationException("bzip2 pipeline: a gap between candidates' bytes.");
                }

                int count = (int)Math.Min(next.Length - from, buffer.Length - have);
                if (count > 0)
                {
                    Buffer.BlockCopy(next.Data!, (int)from, buffer, have, count);
                    return have + count;
                }
            }
        }
    }

    /// <summary>
    /// The bytes from <paramref name="job"/>'s first byte on, at least <paramref name="min"/> of them (a few
    /// dozen at most) when the input has them: its own bytes, continued by those of the following candidates.
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

    // ---------------------------------------------------------------- deliverer: verify and hand out, in order

    private void DeliverAll()
    {
        var ct = _cts.Token;
        try
        {
            DeliverCore(ct);
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
            // What is left after a failure or cancellation.
            while (_accepted.TryTake(out var job))
            {
                job.Release();
            }
        }
    }

    private void DeliverCore(CancellationToken ct)
    {
        uint combined = 0;
        foreach (var job in _accepted.GetConsumingEnumerable(ct))
        {
            try
            {
                if (job.Kind == JobKind.Failure)
                {
                    ExceptionDispatchInfo.Throw(job.Failure!);
                }

                if (job.Kind == JobKind.EndOfStream)
                {
                    if (job.StoredCrc != combined)
                    {
                        throw Invalid(string.Create(CultureInfo.InvariantCulture, $"stream CRC mismatch at the end-of-stream marker at {Where(job.StartBit)} (stream starting at compressed byte {job.StreamStart}): stored 0x{job.StoredCrc:X8}, computed 0x{combined:X8} (corrupt data)."));
                    }

                    combined = 0;
                    Interlocked.Exchange(ref _delivered, job.EndBit >> 3);
                    if (job.Last)
                    {
                        return;
                    }

                    continue;
                }

                job.Done.Wait(ct);
                if (job.Status == BlockStatus.NeedsMore)
                {
                    throw Invalid($"block {job.Number} at {Where(job.StartBit)} is cut short: the data ends before the block does (truncated file?).");
                }

                if (job.Status == BlockStatus.Invalid)
                {
                    throw Invalid($"block {job.Number} at {Where(job.StartBit)} is invalid: {job.Info.Error} (corrupt data).");
                }

                if (job.Info.Symbols > job.Level * 100_000)
                {
                    throw Invalid(string.Create(CultureInfo.InvariantCulture, $"block {job.Number} at {Where(job.StartBit)} holds {job.Info.Symbols} bytes, more than level {job.Level} allows (corrupt data)."));
                }

                if (job.Info.StoredCrc != job.Info.ComputedCrc)
                {
                    throw Invalid(string.Create(CultureInfo.InvariantCulture, $"block {job.Number} at {Where(job.StartBit)}: CRC mismatch (stored 0x{job.Info.StoredCrc:X8}, computed 0x{job.Info.ComputedCrc:X8}) (corrupt data)."));
                }

                combined = Bzip2Crc.Combine(combined, job.Info.StoredCrc);
                var chunk = new DecodedChunk(job.Output!, job.Info.OutputLength);
                job.Output = null;
                Interlocked.Increment(ref Stats.Blocks);
                if (chunk.Length == 0)
                {
                    Return(chunk.Buffer);
                }
                else
                {
                    Counted(chunk.Buffer, -1);    // the consumer's from here on
                    while (!_output.Writer.TryWrite(chunk))
                    {
                        if (!_output.Writer.WaitToWriteAsync(ct).AsTask().GetAwaiter().GetResult())
                        {
                            ArrayPool<byte>.Shared.Return(chunk.Buffer);
                            return;
                        }
                    }
                }

                Interlocked.Exchange(ref _delivered, job.EndBit >> 3);
            }
            finally
            {
                job.Release();
            }
        }

        ct.ThrowIfCancellationRequested();
        throw Invalid("the data ends without a bzip2 end-of-stream marker (truncated file?).");
    }

    private sealed class Job
    {
        public const int Queued = 0;
        public const int Claimed = 1;
        public const int Cancelled = 2;
        public const int Pending = 0;
        public const int Real = 1;
        public const int False = 2;

        private readonly Bzip2Pipeline _owner;

        public Job(Bzip2Pipeline owner) => _owner = owner;

        public JobKind Kind;
        public long StartBit;
        public byte[]? Data;
        public int Length;
        public long NextBit;
        public bool AtEof;
        public Exception? Failure;

        // Who holds it: the orderer (then the deliverer) and, for a block, the decoder thread that takes it.
        public int Refs = 1;
        public int Claim;
        public long Charge;

        // The orderer's verdict, and what the speculative decode found.
        public volatile int Verdict;
        public readonly ManualResetEventSlim Decided = new(false);
        public FirstPhase First;
        public readonly ManualResetEventSlim FirstDone = new(false);
        public long EndBit;           // absolute bit where the block (or end-of-stream trailer) ends

        // The result, once Done.
        public BlockStatus Status;
        public BlockInfo Info;
        public byte[]? Output;
        public readonly ManualResetEventSlim Done = new(false);

        // Set by the orderer.
        public int Number;
        public int Level;
        public uint StoredCrc;
        public long StreamStart;
        public bool Last;

        public void Release()
        {
            if (Interlocked.Decrement(ref Refs) != 0)
            {
                return;
            }

            if (Data is not null)
            {
                _owner.Return(Data);
                Data = null;
            }

            if (Output is not null)
            {
                _owner.Return(Output);
                Output = null;
            }

            Decided.Dispose();
            FirstDone.Dispose();
            Done.Dispose();
        }
    }
}
