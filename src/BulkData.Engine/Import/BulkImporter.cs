using BulkData.Engine.Import.Verification;
using BulkData.Engine.Import.Tables;
using BulkData.Engine.Import.Schema;
using BulkData.Engine.Import.Sql;
using System.Diagnostics;
using System.Security.Cryptography;
using BulkData.Engine.Compression;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// Imports a dump into PostgreSQL: database, pre-data schema, one transaction per table (TRUNCATE + COPY streamed
/// from the file, .bz2 decoded on the way), journal for resume, post-data schema, verification.
/// </summary>
public sealed class BulkImporter
{
    public const int ProgressActivityId = 42;
    public const string JournalSchema = "bulkdata";
    private const int ChunkSize = 1 << 20;

    private readonly ImportOptions _options;
    private readonly IBulkReporter _reporter;
    private long _bytesDone;
    private long _bytesTotal;
    private long _lastProgressTicks;

    public BulkImporter(ImportOptions options, IBulkReporter? reporter = null)
    {
        _options = options;
        _reporter = reporter ?? NullReporter.Instance;
        if (options.ThrottleLimit < 1)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "ThrottleLimit must be at least 1.");
        }
    }

    private enum LoadMode
    {
        Fresh,
        ExistingReplica,
        ExistingForeignKeyOrder,
    }

    /// <summary>Runs the plan; emits one ImportResult per table as it ends, and -Verify findings.</summary>
    public async Task<IReadOnlyList<ImportResult>> RunAsync(ImportPlan plan, Action<object> emit, CancellationToken ct)
    {
        var results = new List<ImportResult>();
        void Emit(ImportResult r)
        {
            lock (results)
            {
                results.Add(r);
            }

            emit(r);
        }

        foreach (var u in plan.Unplanned)
        {
            _reporter.Warning(u.Error!);
            Emit(u);
        }

        var conn = _options.Connection.WithDatabase(plan.Database).WithoutPooling();
        var created = await SchemaLoader.EnsureDatabaseAsync(_options.Connection.AdminConnectionString, plan.Database, plan.Schema?.CreateDatabaseStatement, plan.SchemaPath, _reporter, ct);
        bool schemaApplied = created.Created;

        await using var main = conn.CreateConnection();
        await OpenAsync(main, conn, ct);
        await EnsureJournalAsync(main, ct);

        var loader = new SchemaLoader();
        LoadMode mode;
        bool preDone = plan.SchemaPath is not null && await StepDoneAsync(main, "pre-data", plan.SchemaPath, ct);
        bool postDone = plan.SchemaPath is not null && await StepDoneAsync(main, "post-data", plan.SchemaPath, ct);
        if (plan.Schema is not null && (preDone || postDone))
        {
            mode = LoadMode.Fresh;
            _reporter.Verbose($"{plan.SchemaPath}: pre-data already applied by an earlier run (journal); resuming.");
        }
        else if (plan.Schema is not null && await ExistingTablesAsync(main, plan.Schema.Tables, ct) == 0)
        {
            mode = LoadMode.Fresh;
            if (plan.Schema.DatabaseStatements.Count > 0 && created.Created)
            {
                await loader.ApplyAsync(main, plan.Schema.DatabaseStatementsFor(plan.Database), plan.SchemaPath!, _reporter, ct);
            }

            await using var tx = await main.BeginTransactionAsync(ct);
            var pre = await loader.ApplyAsync(main, plan.Schema.PreData, plan.SchemaPath!, _reporter, tx, ct);
            schemaApplied = true;
            await RecordStepAsync(main, tx, "pre-data", plan.SchemaPath!, ct);
            await tx.CommitAsync(ct);
            await ResetSessionAsync(main, ct);
            _reporter.Verbose($"{plan.SchemaPath}: pre-data applied ({pre.Applied} statements, {pre.Skipped.Count} skipped).");
        }
        else
        {
            if (plan.Schema is not null)
            {
                _reporter.Verbose($"The tables of {plan.SchemaPath} already exist in {plan.Database}: loading into them as they are; the schema script is not applied.");
            }

            mode = LoadMode.ExistingReplica;
        }

        // Triggers and foreign keys exist when the tables were there before, or after post-data ran.
        bool replica = await CanSetReplicaAsync(main, ct);
        if (mode != LoadMode.Fresh || postDone)
        {
            mode = replica ? LoadMode.ExistingReplica : LoadMode.ExistingForeignKeyOrder;
            _reporter.Verbose(mode == LoadMode.ExistingReplica
                ? "Loading into existing tables with session_replication_role = replica (triggers and foreign-key checks off while loading)."
                : "Cannot set session_replication_role here: loading existing tables one at a time in foreign-key order.");
        }

        // Skip tables the journal says were loaded from the same file.
        var todo = new List<TableJob>();
        foreach (var job in plan.Jobs)
        {
            var journal = await JournalEntryAsync(main, job, ct);
            if (!_options.Force && journal is { } j && SameFile(job, j))
            {
                _reporter.Verbose($"{job.QualifiedTable}: already loaded from {job.FileName} ({j.Rows} rows, {j.Identity}); skipped. Use -Force to reload.");
                Emit(Result(job, plan, ImportStatus.Skipped, j.Rows, 0, TimeSpan.Zero, null, Array.Empty<string>()));
                continue;
            }

            todo.Add(job);
        }

        if (mode == LoadMode.ExistingForeignKeyOrder)
        {
            todo = await ForeignKeyOrderAsync(main, todo, ct);
        }

        _bytesTotal = todo.Sum(j => j.Bytes);
        int parallel = mode == LoadMode.ExistingForeignKeyOrder ? 1 : _options.ThrottleLimit;
        var failed = 0;
        await Parallel.ForEachAsync(todo, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = ct }, async (job, token) =>
        {
            var result = await LoadTableAsync(conn, job, plan, replica, token);
            if (result.Status == ImportStatus.Failed)
            {
                Interlocked.Increment(ref failed);
            }

            Emit(result);
        });
        _reporter.Progress(new ProgressUpdate(ProgressActivityId, $"Importing into {plan.Database}", "Done", 100, Completed: true));

        if (mode == LoadMode.Fresh && plan.Schema is not null && !postDone)
        {
            if (failed > 0 || plan.Unplanned.Count > 0)
            {
                _reporter.Warning($"{plan.SchemaPath}: post-data (indexes, constraints, triggers) not applied because {failed + plan.Unplanned.Count} table(s) failed; run the import again once they are fixed: loaded tables are skipped and post-data is applied then.");
            }
            else
            {
                await using var tx = await main.BeginTransactionAsync(ct);
                var post = await loader.ApplyAsync(main, plan.Schema.Settings.Concat(plan.Schema.PostData), plan.SchemaPath!, _reporter, tx, ct);
                schemaApplied = true;
                await RecordStepAsync(main, tx, "post-data", plan.SchemaPath!, ct);
                await tx.CommitAsync(ct);
                await ResetSessionAsync(main, ct);
                _reporter.Verbose($"{plan.SchemaPath}: post-data applied ({post.Applied} statements, {post.Skipped.Count} skipped).");
            }
        }

        var loaded = results.Where(r => r.Status == ImportStatus.Imported).Select(r => r.Table).ToList();
        if (mode == LoadMode.ExistingReplica && loaded.Count > 0)
        {
            foreach (var v in await ImportVerifier.OrphansAsync(main, loaded, ct))
            {
                if (v.Count > 0)
                {
                    _reporter.Warning($"{v.Table}: {v.Count} row(s) whose {v.Columns} have no match in {v.References} (foreign key {v.Constraint}); loaded with foreign-key checks off.");
                }
            }
        }

        if (_options.Verify)
        {
            var all = plan.Jobs.Select(j => j.QualifiedTable).ToList();
            foreach (var v in await ImportVerifier.OrphansAsync(main, all, ct))
            {
                emit(v);
            }

            foreach (var v in await ImportVerifier.DuplicatesAsync(main, all, ct))
            {
                emit(v);
            }
        }

        if (plan.Schema is not null && schemaApplied)
        {
            // The schema script has a result of its own: its skipped statements (each already a warning
            // with its line and reason) are counted there.
            var skipped = created.Skipped.Concat(loader.Warnings).Select(w => $"line {w.Line}: {w.Reason}").ToList();
            _reporter.Verbose($"{plan.SchemaPath}: {skipped.Count} schema statement(s) skipped with a warning.");
            Emit(new ImportResult
            {
                Table = SchemaResultTable, Dataset = "schema", File = plan.SchemaPath!, Rows = 0,
                Bytes = new FileInfo(plan.SchemaPath!).Length, Status = ImportStatus.Imported, Warnings = skipped,
                Database = plan.Database,
            });
        }

        return results;
    }

    /// <summary>The Table of the result that stands for the schema script (not a table).</summary>
    public const string SchemaResultTable = "(schema)";

    private ImportResult Result(TableJob job, ImportPlan plan, ImportStatus status, long rows, long bytes, TimeSpan duration, string? error, IReadOnlyList<string> warnings)
        => new()
        {
            Table = job.QualifiedTable, Dataset = job.Dataset, File = job.FilePath, Rows = rows, Bytes = bytes, Duration = duration,
            Status = status, Error = error, Warnings = warnings, Database = plan.Database, Dialect = job.Dialect.Name,
        };

    private static async Task OpenAsync(NpgsqlConnection c, PgConnectionInfo info, CancellationToken ct)
    {
        try
        {
            await c.OpenAsync(ct);
        }
        catch (NpgsqlException e) when (!ct.IsCancellationRequested)
        {
            throw new BulkDataException(BulkErrorKind.DatabaseError, $"Cannot connect to PostgreSQL as {info.Describe()}: {e.Message}", info.Database, e);
        }
    }

    private static async Task ExecAsync(NpgsqlConnection c, string sql, CancellationToken ct, NpgsqlTransaction? tx = null)
    {
        await using var cmd = new NpgsqlCommand(sql, c, tx) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static Task ResetSessionAsync(NpgsqlConnection c, CancellationToken ct) => ExecAsync(c, "RESET ALL", ct);

    private static async Task EnsureJournalAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await ExecAsync(c, $"""
            CREATE SCHEMA IF NOT EXISTS {JournalSchema};
            CREATE TABLE IF NOT EXISTS {JournalSchema}.import_journal (
                table_name text PRIMARY KEY,
                dataset text,
                source_file text NOT NULL,
                etag text,
                file_size bigint NOT NULL,
                file_mtime timestamptz NOT NULL,
                sha256 text NOT NULL,
                rows bigint NOT NULL,
                loaded_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE IF NOT EXISTS {JournalSchema}.import_steps (
                step text NOT NULL,
                source_file text NOT NULL,
                done_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (step, source_file));
            """, ct);
    }

    private static async Task<bool> StepDoneAsync(NpgsqlConnection c, string step, string source, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT 1 FROM {JournalSchema}.import_steps WHERE step = $1 AND source_file = $2", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = step });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Path.GetFileName(source) });
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    private static async Task RecordStepAsync(NpgsqlConnection c, NpgsqlTransaction tx, string step, string source, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"INSERT INTO {JournalSchema}.import_steps (step, source_file) VALUES ($1, $2) ON CONFLICT DO NOTHING", c, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = step });
        cmd.Parameters.Add(new NpgsqlParameter { Value = Path.GetFileName(source) });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<int> ExistingTablesAsync(NpgsqlConnection c, IReadOnlyList<string> tables, CancellationToken ct)
    {
        if (tables.Count == 0)
        {
            return 0;
        }

        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM unnest($1::text[]) t(name) WHERE to_regclass(t.name) IS NOT NULL", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.ToArray() });
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct));
    }

    private static async Task<bool> CanSetReplicaAsync(NpgsqlConnection c, CancellationToken ct)
    {
        try
        {
            await ExecAsync(c, "SET session_replication_role = replica", ct);
            await ExecAsync(c, "RESET session_replication_role", ct);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            return false;
        }
    }

    private sealed record JournalRow(string SourceFile, string? ETag, long Size, DateTime MTime, string Sha256, long Rows)
    {
        public string Identity => ETag is not null ? $"ETag {ETag}" : $"SHA-256 {Sha256[..12]}...";
    }

    private static async Task<JournalRow?> JournalEntryAsync(NpgsqlConnection c, TableJob job, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT source_file, etag, file_size, file_mtime, sha256, rows FROM {JournalSchema}.import_journal WHERE table_name = $1", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = job.QualifiedTable });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct))
        {
            return null;
        }

        return new JournalRow(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2), r.GetDateTime(3).ToUniversalTime(), r.GetString(4), r.GetInt64(5));
    }

    // Same file: same name and ETag when both have one; else same name, size and modification time
    // (hashing a 55 GB file before deciding would cost as much as loading it; the hash is recorded for audit).
    private static bool SameFile(TableJob job, JournalRow j)
    {
        if (!string.Equals(Path.GetFileName(j.SourceFile), job.FileName, StringComparison.Ordinal))
        {
            return false;
        }

        if (job.ETag is not null && j.ETag is not null)
        {
            return job.ETag == j.ETag;
        }

        return j.Size == job.Bytes && Math.Abs((j.MTime - job.LastWriteUtc).TotalSeconds) < 1;
    }

    private static async Task<List<TableJob>> ForeignKeyOrderAsync(NpgsqlConnection c, List<TableJob> jobs, CancellationToken ct)
    {
        var edges = new List<(string Child, string Parent)>();
        await using (var cmd = new NpgsqlCommand("SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid", c))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                edges.Add((Normalize(r.GetString(0)), Normalize(r.GetString(1))));
            }
        }

        var names = jobs.ToDictionary(j => j.QualifiedTable, StringComparer.OrdinalIgnoreCase);
        var ordered = new List<TableJob>();
        var done = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var remaining = jobs.ToList();
        while (remaining.Count > 0)
        {
            var ready = remaining.Where(j => !edges.Any(e => e.Child.Equals(j.QualifiedTable, StringComparison.OrdinalIgnoreCase) && names.ContainsKey(e.Parent) && !done.Contains(e.Parent) && !e.Parent.Equals(j.QualifiedTable, StringComparison.OrdinalIgnoreCase))).ToList();
            if (ready.Count == 0)
            {
                ready = remaining.Take(1).ToList(); // a cycle: break it
            }

            foreach (var j in ready)
            {
                ordered.Add(j);
                done.Add(j.QualifiedTable);
                remaining.Remove(j);
            }
        }

        return ordered;

        static string Normalize(string regclass) => regclass.Contains('.') ? regclass.Replace("\"", "") : "public." + regclass.Replace("\"", "");
    }

    private void ReportProgress(string table, long delta)
    {
        long done = Interlocked.Add(ref _bytesDone, delta);
        long now = Stopwatch.GetTimestamp();
        long last = Interlocked.Read(ref _lastProgressTicks);
        if (now - last < Stopwatch.Frequency / 4 || Interlocked.CompareExchange(ref _lastProgressTicks, now, last) != last)
        {
            return;
        }

        int pct = _bytesTotal > 0 ? (int)Math.Min(100, done * 100 / _bytesTotal) : -1;
        _reporter.Progress(new ProgressUpdate(ProgressActivityId, "Importing tables", $"{ByteSize.Format(done)} of {ByteSize.Format(_bytesTotal)} read", pct, CurrentOperation: table));
    }

    private async Task<ImportResult> LoadTableAsync(PgConnectionInfo info, TableJob job, ImportPlan plan, bool replica, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var warnings = new List<string>();
        long reported = 0;
        var counting = (CountingStream?)null;
        string where = $"file {job.FilePath}, table {job.QualifiedTable}";
        try
        {
            await using var c = info.CreateConnection();
            await OpenAsync(c, info, ct);
            if (replica)
            {
                await ExecAsync(c, "SET session_replication_role = replica", ct);
            }

            var tableColumns = await TableColumnsAsync(c, job, ct);
            await using var tx = await c.BeginTransactionAsync(ct);
            await TruncateAsync(c, tx, job, ct);
            long insertedBefore = await InsertedRowsAsync(c, tx, job, ct);

            await using var file = new FileStream(job.FilePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            counting = new CountingStream(file);
            Stream source = job.IsBzip2
                ? new Bzip2DecoderStream(counting, new Bzip2DecoderOptions { Threads = _options.DecoderThreads, SourceName = job.FilePath }, leaveOpen: true)
                : counting;
            await using var sourceOwner = source == counting ? null : source;

            var counter = new CsvRecordCounter(job.Dialect);
            var pending = new List<byte[]>();
            var buffer = new byte[ChunkSize];
            int n;
            bool eof = false;

            // Read until the header is complete (it names the columns COPY gets).
            while (job.Dialect.Header && !counter.HeaderComplete)
            {
                n = await ReadAsync(source, buffer, where, counting, ct);
                if (n == 0)
                {
                    eof = true;
                    break;
                }

                counter.Feed(buffer.AsSpan(0, n));
                pending.Add(buffer.AsSpan(0, n).ToArray());
            }

            IReadOnlyList<string> columns = ResolveColumns(job, counter.HeaderColumns(eof), tableColumns, where);
            string copy = $"COPY {ImportPlan.Quoted(job.Schema, job.Table)} ({string.Join(", ", columns.Select(ImportPlan.QuoteIdent))}) FROM STDIN WITH ({job.Dialect.ToCopyOptions()})";
            _reporter.Verbose($"{job.QualifiedTable}: {copy} <- {job.FileName}");
            long records;
            // A text COPY (Npgsql allows raw streams for binary COPY only): the bytes go to the writer's base
            // stream untouched, so nothing is decoded or re-encoded here and PostgreSQL checks the encoding.
            await using (var writer = await c.BeginTextImportAsync(copy, ct))
            {
                var raw = ((StreamWriter)writer).BaseStream;
                try
                {
                    foreach (var chunk in pending)
                    {
                        await raw.WriteAsync(chunk, ct);
                    }

                    while (!eof && (n = await ReadAsync(source, buffer, where, counting, ct)) > 0)
                    {
                        counter.Feed(buffer.AsSpan(0, n));
                        await raw.WriteAsync(buffer.AsMemory(0, n), ct);
                        long now = counting.BytesRead;
                        ReportProgress(job.QualifiedTable, now - reported);
                        reported = now;
                    }

                    if (counter.InQuotes)
                    {
                        throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: the file ends inside a quoted value (line {counter.Line}): truncated or not in the {job.Dialect.Name} dialect.", job.FilePath);
                    }
                }
                catch (Exception) when (!ct.IsCancellationRequested)
                {
                    try
                    {
                        await ((NpgsqlCopyTextWriter)writer).CancelAsync();
                    }
                    catch (Exception)
                    {
                        // The COPY is abandoned with its transaction either way.
                    }

                    throw;
                }

                records = counter.Records;
            }

            long rows = await InsertedRowsAsync(c, tx, job, ct) - insertedBefore;
            if (rows != records)
            {
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{where}: COPY loaded {rows} rows but the file holds {records} CSV records: rolled back.", job.FilePath);
            }

            await using (var cmd = new NpgsqlCommand($"""
                INSERT INTO {JournalSchema}.import_journal (table_name, dataset, source_file, etag, file_size, file_mtime, sha256, rows, loaded_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
                ON CONFLICT (table_name) DO UPDATE SET dataset = EXCLUDED.dataset, source_file = EXCLUDED.source_file, etag = EXCLUDED.etag,
                    file_size = EXCLUDED.file_size, file_mtime = EXCLUDED.file_mtime, sha256 = EXCLUDED.sha256, rows = EXCLUDED.rows, loaded_at = now()
                """, c, tx))
            {
                cmd.Parameters.Add(new NpgsqlParameter { Value = job.QualifiedTable });
                cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.Dataset ?? DBNull.Value });
                cmd.Parameters.Add(new NpgsqlParameter { Value = job.FilePath });
                cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.ETag ?? DBNull.Value });
                cmd.Parameters.Add(new NpgsqlParameter { Value = job.Bytes });
                cmd.Parameters.Add(new NpgsqlParameter { Value = DateTime.SpecifyKind(job.LastWriteUtc, DateTimeKind.Utc) });
                cmd.Parameters.Add(new NpgsqlParameter { Value = counting.HashHex() });
                cmd.Parameters.Add(new NpgsqlParameter { Value = rows });
                await cmd.ExecuteNonQueryAsync(ct);
            }

            await tx.CommitAsync(ct);
            _reporter.Verbose($"{job.QualifiedTable}: {rows} rows from {job.FileName} in {watch.Elapsed.TotalSeconds:0.0} s.");
            return Result(job, plan, ImportStatus.Imported, rows, counting.BytesRead, watch.Elapsed, null, warnings);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is not OperationCanceledException)
        {
            string message = Describe(e, where, counting);
            _reporter.Warning($"{job.QualifiedTable} failed and was rolled back: {message}");
            return Result(job, plan, ImportStatus.Failed, 0, counting?.BytesRead ?? 0, watch.Elapsed, message, warnings);
        }
        finally
        {
            if (counting is not null)
            {
                ReportProgress(job.QualifiedTable, Math.Max(0, job.Bytes - reported));
            }
        }
    }

    private static string Describe(Exception e, string where, CountingStream? counting)
    {
        if (e is PostgresException pg)
        {
            // PostgreSQL's context names the line of the file ("COPY search_docket, line 5, column x: ...").
            string context = string.IsNullOrEmpty(pg.Where) ? "" : $" ({pg.Where.Split('\n')[^1]})";
            return $"{where}: {pg.MessageText}{context} [SQLSTATE {pg.SqlState}]";
        }

        if (e is BulkDataException b)
        {
            return b.Message.StartsWith("file ", StringComparison.Ordinal) ? b.Message : $"{where}: {b.Message}";
        }

        string at = counting is null ? "" : $" (after {counting.BytesRead} bytes of the file)";
        return $"{where}: {e.Message}{at}";
    }

    private static async Task<int> ReadAsync(Stream source, byte[] buffer, string where, CountingStream counting, CancellationToken ct)
    {
        try
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = await source.ReadAsync(buffer.AsMemory(total), ct);
                if (n == 0)
                {
                    break;
                }

                total += n;
                if (total >= buffer.Length / 2)
                {
                    break;
                }
            }

            return total;
        }
        catch (Exception e) when (e is InvalidDataException or BulkDataException && !ct.IsCancellationRequested)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: cannot decompress near byte {counting.BytesRead} of the compressed file: {e.Message}", where, e);
        }
    }

    private static IReadOnlyList<string> ResolveColumns(TableJob job, IReadOnlyList<string>? header, IReadOnlyList<string> tableColumns, string where)
    {
        if (job.Dialect.Header && header is null)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: the file is empty: it has no header row.", job.FilePath);
        }

        var columns = header ?? job.ScriptColumns ?? tableColumns;
        if (job.ScriptColumns is not null && header is not null && !job.ScriptColumns.SequenceEqual(header, StringComparer.Ordinal))
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: the header ({string.Join(", ", header)}) differs from the load script's column list ({string.Join(", ", job.ScriptColumns)}).", job.FilePath);
        }

        var set = new HashSet<string>(tableColumns, StringComparer.Ordinal);
        var missing = columns.Where(col => !set.Contains(col)).ToList();
        if (missing.Count > 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: the header names column(s) {string.Join(", ", missing)} that table {job.QualifiedTable} does not have; nothing was loaded.", job.FilePath);
        }

        return columns;
    }

    private static async Task<List<string>> TableColumnsAsync(NpgsqlConnection c, TableJob job, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = ImportPlan.Quoted(job.Schema, job.Table) });
        var list = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(r.GetString(0));
        }

        if (list.Count == 0)
        {
            throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"file {job.FilePath}, table {job.QualifiedTable}: the table does not exist in the target database (no schema script created it).", job.QualifiedTable);
        }

        return list;
    }

    private static async Task TruncateAsync(NpgsqlConnection c, NpgsqlTransaction tx, TableJob job, CancellationToken ct)
    {
        string table = ImportPlan.Quoted(job.Schema, job.Table);
        await tx.SaveAsync("bulkdata_truncate", ct);
        try
        {
            await ExecAsync(c, $"TRUNCATE {table}", ct, tx);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.FeatureNotSupported)
        {
            // Referenced by a foreign key of another table: empty it row by row instead.
            await tx.RollbackAsync("bulkdata_truncate", ct);
            await ExecAsync(c, $"DELETE FROM {table}", ct, tx);
        }
    }

    private static async Task<long> InsertedRowsAsync(NpgsqlConnection c, NpgsqlTransaction tx, TableJob job, CancellationToken ct)
    {
        // The rows this transaction inserted into the table: COPY's own count, without scanning the table.
        await using var cmd = new NpgsqlCommand("SELECT n_tup_ins FROM pg_stat_xact_user_tables WHERE relid = to_regclass($1)", c, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = ImportPlan.Quoted(job.Schema, job.Table) });
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct) ?? 0L);
    }

    /// <summary>Counts and hashes the bytes read from the file.</summary>
    private sealed class CountingStream : Stream
    {
        private readonly Stream _inner;
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _read;

        public CountingStream(Stream inner) => _inner = inner;

        public long BytesRead => Interlocked.Read(ref _read);

        public string HashHex() => Convert.ToHexString(_hash.GetCurrentHash()).ToLowerInvariant();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _inner.Length;

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = _inner.Read(buffer);
            Account(buffer[..n]);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await _inner.ReadAsync(buffer, cancellationToken);
            Account(buffer.Span[..n]);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private void Account(ReadOnlySpan<byte> data)
        {
            lock (_hash)
            {
                _hash.AppendData(data);
            }

            Interlocked.Add(ref _read, data.Length);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
