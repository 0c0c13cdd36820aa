using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Tables;

/// <summary>
/// A fresh load of one table over several COPY streams: the decoded bytes are cut at record boundaries (the
/// dialect's record parser, <see cref="CsvRecordCounter"/>, fed line by line) into batches of about a megabyte,
/// handed round robin to one COPY per connection through bounded queues (two batches each), so memory stays
/// flat whatever the file's size. The header is read once and left out (every stream's COPY is without HEADER).
/// The table is emptied first in a transaction of its own (the streams' transactions cannot share one TRUNCATE),
/// each stream is its own transaction, the rows of all streams are checked against the records read, and the
/// journal row is written only once every stream committed. Any failure (a stream's error, a dialect finding, a
/// record longer than <see cref="MaxCarry"/>) rolls the streams back, empties the table again and returns null:
/// the caller then loads the table in one stream, which reports the error with its exact line or loads it.
/// </summary>
internal sealed partial class TableLoader
{
    private const int BatchSize = 1 << 20;

    /// <summary>The longest record kept whole while looking for a boundary; past it the table loads in one stream.</summary>
    internal const int MaxCarry = 64 << 20;

    /// <summary>
    /// Loads <paramref name="job"/> into its (empty or new) table over <paramref name="c"/> and <paramref name="extra"/>
    /// (open, the loader's alone); null when it fell back (see the type's summary): the table is then empty again.
    /// </summary>
    public async Task<TableLoad?> LoadStreamsAsync(NpgsqlConnection c, IReadOnlyList<NpgsqlConnection> extra, TableJob job, CancellationToken ct)
    {
        if (ExcludeExtraColumns || !job.Dialect.Header)
        {
            // Column filtering and headerless files are the single stream's: keep them in one place.
            return null;
        }

        var watch = Stopwatch.StartNew();
        string table = new QualifiedName(job.Schema, job.Table).Sql;
        string where = $"file {job.FilePath}, table {job.QualifiedTable}";
        var connections = new[] { c }.Concat(extra).ToList();
        List<string> tableColumns;
        try
        {
            tableColumns = await TableColumnsAsync(c, job, table, ct).ConfigureAwait(false);
            await ExecAsync(c, $"TRUNCATE {table}", ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PostgresException or BulkDataException && !ct.IsCancellationRequested)
        {
            // Not there, or referenced by a foreign key (no TRUNCATE): the single stream reports or handles it.
            return null;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var queues = connections.Select(_ => Channel.CreateBounded<(byte[] Buffer, int Length)>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true })).ToList();
        var transactions = new NpgsqlTransaction?[connections.Count];
        long reported = 0;
        var streams = new List<Task<long>>();
        await using var bytes = OpenBytes(job);
        var counting = bytes.Counting;
        try
        {
            var buffer = new byte[ChunkSize];
            var carry = new ArrayBufferWriter<byte>();
            var header = new ArrayBufferWriter<byte>();
            int n = await ReadAsync(bytes.Source, buffer, where, counting, cts.Token).ConfigureAwait(false);
            bool eof = n == 0;
            if (n > 0 && job.DialectReason.StartsWith(DialectSniffer.Prior, StringComparison.Ordinal))
            {
                // Nothing states the dialect: the first block chooses it, the dump's date when it cannot tell (as one stream does).
                var (sniffed, why) = DialectSniffer.Sniff(buffer.AsSpan(0, n).ToArray(), job.Dialect);
                if (why == DialectSniffer.Sniffed)
                {
                    job = job with { Dialect = sniffed, DialectReason = DialectSniffer.Sniffed };
                }
            }

            var counter = new CsvRecordCounter(job.Dialect);

            // The header first (it names the columns of every stream's COPY); what follows it starts the data.
            while (!eof)
            {
                int dataStart = FeedLines(counter, buffer.AsSpan(0, n), out _, header);
                if (counter.HeaderComplete)
                {
                    FeedLines(counter, buffer.AsSpan(dataStart, n - dataStart), out _, null);
                    carry.Write(buffer.AsSpan(dataStart, n - dataStart));
                    break;
                }

                n = await ReadAsync(bytes.Source, buffer, where, counting, cts.Token).ConfigureAwait(false);
                eof = n == 0;
            }

            var columns = ResolveColumns(job, counter.HeaderColumns(eof), tableColumns, where);
            string copy = $"COPY {table} ({string.Join(", ", columns.Select(QualifiedName.QuoteIdentifier))}) FROM STDIN WITH ({(job.Dialect with { Header = false }).ToCopyOptions()})";
            _reporter.Verbose($"{job.QualifiedTable}: {copy} <- {job.FileName}, in {connections.Count} streams");

            streams.AddRange(connections.Select((conn, i) => Task.Run(async () =>
            {
                transactions[i] = await conn.BeginTransactionAsync(cts.Token).ConfigureAwait(false);
                await using (var writer = await conn.BeginTextImportAsync(copy, cts.Token).ConfigureAwait(false))
                {
                    var raw = ((StreamWriter)writer).BaseStream;
                    await foreach (var (array, length) in queues[i].Reader.ReadAllAsync(cts.Token).ConfigureAwait(false))
                    {
                        try
                        {
                            await raw.WriteAsync(array.AsMemory(0, length), cts.Token).ConfigureAwait(false);
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(array);
                        }
                    }
                }

                return await InsertedRowsAsync(conn, transactions[i]!, table, cts.Token).ConfigureAwait(false);
            }, cts.Token)));

            int next = 0;
            static (byte[] Buffer, int Length) Pack(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
            {
                int length = first.Length + second.Length;
                var array = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                first.CopyTo(array);
                second.CopyTo(array.AsSpan(first.Length));
                return (array, length);
            }

            async Task SendAsync((byte[] Buffer, int Length) batch)
            {
                if (batch.Length == 0)
                {
                    ArrayPool<byte>.Shared.Return(batch.Buffer);
                    return;
                }

                try
                {
                    await queues[next].Writer.WriteAsync(batch, cts.Token).ConfigureAwait(false);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(batch.Buffer);
                    throw;
                }

                next = (next + 1) % queues.Count;
            }

            async Task FailFastAsync()
            {
                // A stream that failed ends the run now (its queue no longer drains).
                if (streams.FirstOrDefault(t => t.IsFaulted || t.IsCanceled) is { } broken)
                {
                    await broken.ConfigureAwait(false);
                }
            }

            while (!eof && (n = await ReadAsync(bytes.Source, buffer, where, counting, cts.Token).ConfigureAwait(false)) > 0)
            {
                await FailFastAsync().ConfigureAwait(false);
                FeedLines(counter, buffer.AsSpan(0, n), out int boundary, null);
                if (counter.Finding is not null)
                {
                    throw new InvalidDataException(counter.Finding);
                }

                if (boundary < 0 || carry.WrittenCount + boundary < BatchSize)
                {
                    if (carry.WrittenCount + n > MaxCarry)
                    {
                        throw new InvalidDataException($"no record boundary in {MaxCarry >> 20} MB");
                    }

                    carry.Write(buffer.AsSpan(0, n));
                }
                else
                {
                    await SendAsync(Pack(carry.WrittenSpan, buffer.AsSpan(0, boundary))).ConfigureAwait(false);
                    carry.ResetWrittenCount();
                    carry.Write(buffer.AsSpan(boundary, n - boundary));
                }

                long now = counting.BytesRead;
                _progress(job.QualifiedTable, now - reported);
                reported = now;
            }

            await SendAsync(Pack(carry.WrittenSpan, ReadOnlySpan<byte>.Empty)).ConfigureAwait(false);
            foreach (var q in queues)
            {
                q.Writer.Complete();
            }

            long[] rows = await Task.WhenAll(streams).ConfigureAwait(false);
            if (counter.InQuotes || counter.Finding is not null || rows.Sum() != counter.Records)
            {
                throw new InvalidDataException($"{rows.Sum()} rows for {counter.Records} records");
            }

            foreach (var tx in transactions)
            {
                await tx!.CommitAsync(ct).ConfigureAwait(false);
            }

            await using (var journal = await c.BeginTransactionAsync(ct).ConfigureAwait(false))
            {
                await ImportJournal.RecordTableAsync(journal, job, counting.HashHex(), rows.Sum(), ct).ConfigureAwait(false);
                await journal.CommitAsync(ct).ConfigureAwait(false);
            }

            _reporter.Verbose($"{job.QualifiedTable}: {rows.Sum()} rows from {job.FileName} in {watch.Elapsed.TotalSeconds:0.0} s ({connections.Count} COPY streams: {string.Join(" + ", rows)}).");
            return new TableLoad(rows.Sum(), counting.BytesRead, watch.Elapsed, null) { Dialect = job.Dialect, DialectReason = job.DialectReason };
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            cts.Cancel();
            foreach (var q in queues)
            {
                q.Writer.TryComplete();
                while (q.Reader.TryRead(out var left))
                {
                    ArrayPool<byte>.Shared.Return(left.Buffer);
                }
            }

            try
            {
                // The streams end (cancelled) before their connections are touched again.
                await Task.WhenAll(streams).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Their errors are the failure being handled.
            }

            foreach (var tx in transactions)
            {
                try
                {
                    if (tx is not null)
                    {
                        await tx.DisposeAsync().ConfigureAwait(false);
                    }
                }
                catch (Exception)
                {
                    // A broken connection: its transaction is gone with it.
                }
            }

            _reporter.Verbose($"{job.QualifiedTable}: the load in {connections.Count} streams stopped ({Innermost(e).Message}); emptied, loading it in one stream.");
            _progress(job.QualifiedTable, -reported);
            try
            {
                await ExecAsync(c, $"TRUNCATE {table}", ct).ConfigureAwait(false);
            }
            catch (Exception again) when (!ct.IsCancellationRequested)
            {
                return new TableLoad(0, counting.BytesRead, watch.Elapsed, $"{where}: the load in {connections.Count} streams failed ({Innermost(e).Message}) and the table could not be emptied ({Innermost(again).Message}); it is not journalled: the next run empties and reloads it.");
            }

            return null;
        }
    }

    /// <summary>
    /// Feeds <paramref name="data"/> to <paramref name="counter"/> one line at a time; <paramref name="boundary"/> is
    /// the index just after the last newline that ended a record (-1 when none did). While the header is not yet
    /// complete its bytes go to <paramref name="header"/> and the return value is the index just after it.
    /// </summary>
    private static int FeedLines(CsvRecordCounter counter, ReadOnlySpan<byte> data, out int boundary, ArrayBufferWriter<byte>? header)
    {
        boundary = -1;
        int start = 0, headerEnd = 0;
        while (start < data.Length)
        {
            int nl = data[start..].IndexOf((byte)'\n');
            int end = nl < 0 ? data.Length : start + nl + 1;
            bool before = counter.HeaderComplete;
            if (header is not null && before)
            {
                return headerEnd;
            }

            counter.Feed(data[start..end]);
            if (!before)
            {
                header?.Write(data[start..end]);
                headerEnd = end;
            }
            else if (nl >= 0 && !counter.InQuotes)
            {
                boundary = end;
            }

            start = end;
        }

        return header is not null ? headerEnd : data.Length;
    }
}
