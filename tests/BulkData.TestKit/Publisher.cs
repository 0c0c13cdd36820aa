using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;
using Npgsql;

namespace BulkData.TestKit;

/// <summary>The dialects the publisher's exports have used (see the facts file and the exporter's history).</summary>
public enum Dialect
{
    /// <summary>From 2025-01-25 (today): <c>FORMAT csv, ENCODING utf8, HEADER, ESCAPE '\', FORCE_QUOTE *</c>.</summary>
    Escape,

    /// <summary>2023-07-18 to 2024-07: <c>FORMAT csv, ENCODING utf8, HEADER, FORCE_QUOTE *</c>: RFC 4180, quotes doubled, every non-NULL value quoted.</summary>
    ForceQuote,

    /// <summary>2024-07-25 to 2025-01 (the dump of 2024-12-31): <c>QUOTE '`'</c> and <c>FORCE_QUOTE *</c>, no escape (a backtick doubles).</summary>
    Backtick,

    /// <summary>2022-08-01 to 2023-07: plain <c>FORMAT csv, HEADER</c> (RFC 4180, quoted only where needed).</summary>
    Plain,

    /// <summary>2022-07-31, for one day: <c>FORMAT binary</c>.</summary>
    Binary,
}

public sealed record PublishOptions
{
    public required string ConnectionString { get; init; }

    public required string OutputDirectory { get; init; }

    public DateTime DumpDate { get; init; } = new(2026, 9, 30);

    /// <summary>The schema and load script are dated this many days after the CSVs (the real dumps do this).</summary>
    public int SchemaDayOffset { get; init; } = 1;

    public int Courts { get; init; } = 12;

    public int People { get; init; } = 20;

    public int Dockets { get; init; } = 60;

    /// <summary>Words of generated text per opinion (about 6 bytes each).</summary>
    public int Words { get; init; } = 40;

    public Dialect Dialect { get; init; } = Dialect.Escape;

    /// <summary>How the load script is written; the exporter's own (multi-line) output by default. Binary dumps had none.</summary>
    public LoadScriptStyle? LoadScript { get; init; }

    /// <summary>Datasets or tables whose export failed: their file is the 14-byte empty bzip2 stream.</summary>
    public IReadOnlyList<string> Stubs { get; init; } = Array.Empty<string>();

    /// <summary><c>table.column</c>: a column the export (and the dump's schema) has and an older table lacks; filled with text.</summary>
    public IReadOnlyList<string> ExtraColumns { get; init; } = Array.Empty<string>();

    /// <summary><c>table.column</c>: a column the export leaves out (the schema keeps it), as the export once left out a NOT NULL column.</summary>
    public IReadOnlyList<string> DropColumns { get; init; } = Array.Empty<string>();

    /// <summary><c>table.column=N</c>: N rows whose foreign key points at a parent row the dump does not have (the parent deleted between two exports).</summary>
    public IReadOnlyList<string> Orphans { get; init; } = Array.Empty<string>();

    /// <summary>bzip2, lbzip2 or pbzip2.</summary>
    public string Compressor { get; init; } = "lbzip2";

    public string? EndpointUrl { get; init; }

    public string Bucket { get; init; } = "com-courtlistener-storage";

    public string Prefix { get; init; } = "bulk-data/";

    /// <summary>Objects larger than this are uploaded in parts of this size (so their ETag ends in -N); 0 never.</summary>
    public long MultipartPartSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>Keep the source database afterwards (tests compare against it).</summary>
    public string SourceDatabase { get; init; } = "cl_source";
}

public sealed record PublishedFile(string Dataset, string Table, string FileName, string Key, string Path, long Size, string ETag, long Rows, string Kind, bool Stub = false, IReadOnlyList<string>? Columns = null);

/// <summary>Rows of <paramref name="Table"/> whose <paramref name="Column"/> names a <paramref name="References"/> row the dump does not have.</summary>
public sealed record PublishedOrphans(string Table, string Column, string References, string Constraint, IReadOnlyList<long> Keys);

public sealed record PublishedDump(string SourceDatabase, string DumpDate, string Dialect, IReadOnlyList<PublishedFile> Files, IReadOnlyList<PublishedOrphans>? Orphans = null, string LoadScript = "Exporter");

/// <summary>
/// Makes a CourtListener-shaped dump the way the publisher does: a source database from the project's
/// subset schema, generated rows with the hard cases, COPY TO in the chosen dialect, bzip2, the schema
/// script and load script, and an upload of everything under <c>bulk-data/</c>.
/// </summary>
public static class Publisher
{
    public static readonly string[] Tables =
    {
        "search_court", "people_db_person", "search_docket", "search_opinioncluster", "search_opinion",
        "search_opinionscited", "search_citation", "search_opinioncluster_panel",
    };

    public static string SubsetSchema => ReadResource("courtlistener-subset.sql");

    public static async Task<PublishedDump> PublishAsync(PublishOptions o, CancellationToken ct = default)
    {
        Directory.CreateDirectory(o.OutputDirectory);
        await RecreateDatabaseAsync(o.ConnectionString, o.SourceDatabase, ct);
        var sourceCs = new NpgsqlConnectionStringBuilder(o.ConnectionString) { Database = o.SourceDatabase, CommandTimeout = 0 }.ConnectionString;
        await using var conn = new NpgsqlConnection(sourceCs);
        await conn.OpenAsync(ct);
        await ExecAsync(conn, SubsetSchema, ct);
        string generate = ReadResource("generate.sql")
            .Replace("{courts}", o.Courts.ToString()).Replace("{people}", o.People.ToString())
            .Replace("{dockets}", Math.Max(3, o.Dockets).ToString()).Replace("{words}", o.Words.ToString());
        await ExecAsync(conn, generate, ct);
        await ExecAsync(conn, "SET TimeZone = 'America/New_York'", ct);

        foreach (var spec in o.ExtraColumns)
        {
            var (table, column) = TableColumn(spec);
            await ExecAsync(conn, $"ALTER TABLE public.{table} ADD COLUMN {column} text; UPDATE public.{table} SET {column} = 'added ' || id::text || ' \"x\"'", ct);
        }

        var orphans = new List<PublishedOrphans>();
        foreach (var spec in o.Orphans)
        {
            orphans.Add(await MakeOrphansAsync(conn, spec, ct));
        }

        string date = o.DumpDate.ToString("yyyy-MM-dd");
        string schemaDate = o.DumpDate.AddDays(o.SchemaDayOffset).ToString("yyyy-MM-dd");
        string schemaName = $"schema-{schemaDate}.sql";
        var files = new List<PublishedFile>();
        var scriptTables = new List<LoadScriptTable>();
        foreach (var table in Tables)
        {
            var entry = DatasetCatalog.Find(table)!;
            var dropped = o.DropColumns.Select(TableColumn).Where(tc => tc.Table == table).Select(tc => tc.Column).ToHashSet();
            var columns = (await ColumnsAsync(conn, table, ct)).Where(c => !dropped.Contains(c)).ToList();
            // The publisher's column order is its own, not the table's.
            var exportOrder = columns.Take(1).Concat(columns.Skip(1).OrderBy(c => c, StringComparer.Ordinal)).ToList();
            string columnList = string.Join(", ", exportOrder.Select(Quote));
            string csvName = entry.FileName(o.DumpDate)[..^4];
            string path = Path.Combine(o.OutputDirectory, csvName + ".bz2");
            bool stub = o.Stubs.Any(x => x.Equals(table, StringComparison.OrdinalIgnoreCase) || x.Equals(entry.Dataset, StringComparison.OrdinalIgnoreCase));
            long rows = 0;
            if (stub)
            {
                // A failed export: psql wrote nothing, bzip2 still wrote its empty stream.
                await File.WriteAllBytesAsync(path, EmptyBzip2Stream, ct);
            }
            else
            {
                await ExportCompressedAsync(conn, $"COPY public.{table} ({columnList}) TO STDOUT WITH ({ExportOptions(o.Dialect)})", path, o.Compressor, ct, binary: o.Dialect == Dialect.Binary);
                rows = await CountAsync(conn, table, ct);
            }

            files.Add(new PublishedFile(entry.Dataset, table, csvName + ".bz2", o.Prefix + csvName + ".bz2", path, new FileInfo(path).Length, "", rows, "Data", stub, exportOrder));
            scriptTables.Add(new LoadScriptTable(table, exportOrder, csvName));
        }

        string schemaPath = Path.Combine(o.OutputDirectory, schemaName);
        await File.WriteAllTextAsync(schemaPath, DressAsDump(WithExtraColumns(SubsetSchema, o.ExtraColumns)), new UTF8Encoding(false), ct);
        files.Add(new PublishedFile("schema", "", Path.GetFileName(schemaPath), o.Prefix + Path.GetFileName(schemaPath), schemaPath, new FileInfo(schemaPath).Length, "", 0, "Schema"));
        var style = o.LoadScript ?? (o.Dialect == Dialect.Binary ? LoadScriptStyle.None : LoadScriptStyle.Exporter);
        if (style != LoadScriptStyle.None)
        {
            string loadPath = Path.Combine(o.OutputDirectory, $"load-bulk-data-{schemaDate}.sh");
            await File.WriteAllTextAsync(loadPath, LoadScriptWriter.Render(o.Dialect, schemaName, scriptTables, style), new UTF8Encoding(false), ct);
            files.Add(new PublishedFile("load-bulk-data", "", Path.GetFileName(loadPath), o.Prefix + Path.GetFileName(loadPath), loadPath, new FileInfo(loadPath).Length, "", 0, "LoadScript"));
        }

        if (o.EndpointUrl is not null)
        {
            using var s3 = CreateClient(o.EndpointUrl);
            await EnsureBucketAsync(s3, o.Bucket, ct);
            for (int i = 0; i < files.Count; i++)
            {
                string etag = await UploadAsync(s3, o.Bucket, files[i].Key, files[i].Path, o.MultipartPartSize, ct);
                files[i] = files[i] with { ETag = etag };
            }
        }

        return new PublishedDump(o.SourceDatabase, date, o.Dialect.ToString(), files, orphans, style.ToString());
    }

    /// <summary>What a failed export uploads: bzip2's empty stream, 14 bytes, no CSV header.</summary>
    public static readonly byte[] EmptyBzip2Stream = { 0x42, 0x5A, 0x68, 0x39, 0x17, 0x72, 0x45, 0x38, 0x50, 0x90, 0, 0, 0, 0 };

    /// <summary>The exporter's COPY ... TO options of each era.</summary>
    public static string ExportOptions(Dialect d) => d switch
    {
        Dialect.Escape => "FORMAT csv, ENCODING utf8, HEADER, ESCAPE '\\', FORCE_QUOTE *",
        Dialect.ForceQuote => "FORMAT csv, ENCODING utf8, HEADER, FORCE_QUOTE *",
        Dialect.Backtick => "FORMAT csv, ENCODING utf8, HEADER, QUOTE '`', FORCE_QUOTE *",
        Dialect.Binary => "FORMAT binary",
        _ => "FORMAT csv, HEADER",
    };

    /// <summary>
    /// A real-looking dump date of each dialect's era (the exporter's history in the facts file), the kit's default
    /// date for a dump in that dialect, so that the dump date's prior is exercised per era: a plain dump of 2023-05-31,
    /// a FORCE_QUOTE dump of 2023-12-04, the backtick dump of 2024-12-31, today's of 2026-09-30, the binary day.
    /// </summary>
    public static DateTime EraDate(Dialect dialect) => dialect switch
    {
        Dialect.Plain => new DateTime(2023, 5, 31),
        Dialect.ForceQuote => new DateTime(2023, 12, 4),
        Dialect.Backtick => new DateTime(2024, 12, 31),
        Dialect.Binary => new DateTime(2022, 7, 31),
        _ => new DateTime(2026, 9, 30),
    };

    /// <summary>A dialect by name; Rfc4180 is the plain CSV of 2022.</summary>
    public static Dialect ParseDialect(string name)
        => name.Equals("rfc4180", StringComparison.OrdinalIgnoreCase) ? Dialect.Plain : Enum.Parse<Dialect>(name, ignoreCase: true);

    private static string Quote(string column) => column is "position" or "type" ? $"\"{column}\"" : column;

    private static (string Table, string Column) TableColumn(string spec)
    {
        int dot = spec.IndexOf('.');
        return dot > 0 ? (spec[..dot], spec[(dot + 1)..]) : throw new ArgumentException($"Expected table.column, got '{spec}'.");
    }

    /// <summary>The subset's DDL with the extra columns added to their CREATE TABLE (the newer dump's schema has them).</summary>
    private static string WithExtraColumns(string ddl, IReadOnlyList<string> extra)
    {
        foreach (var (table, column) in extra.Select(TableColumn))
        {
            int start = ddl.IndexOf($"CREATE TABLE public.{table} (", StringComparison.Ordinal);
            int end = start < 0 ? -1 : ddl.IndexOf("\n);", start, StringComparison.Ordinal);
            if (end < 0)
            {
                throw new ArgumentException($"No table {table} in the kit's schema.");
            }

            ddl = ddl[..end] + $",\n    {column} text" + ddl[end..];
        }

        return ddl;
    }

    /// <summary>Points N rows' foreign key at parent keys that do not exist, as if the parents were deleted between two exports.</summary>
    private static async Task<PublishedOrphans> MakeOrphansAsync(NpgsqlConnection conn, string spec, CancellationToken ct)
    {
        int eq = spec.IndexOf('=');
        var (table, column) = TableColumn(eq > 0 ? spec[..eq] : spec);
        int count = eq > 0 ? int.Parse(spec[(eq + 1)..]) : 1;
        string? constraint = null, parent = null, parentColumn = null;
        await using (var cmd = new NpgsqlCommand("""
            SELECT c.conname, c.confrelid::regclass::text, pa.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND c.conrelid = ('public.' || $1)::regclass AND a.attname = $2
            """, conn))
        {
            cmd.Parameters.AddWithValue(table);
            cmd.Parameters.AddWithValue(column);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            if (await r.ReadAsync(ct))
            {
                (constraint, parent, parentColumn) = (r.GetString(0), r.GetString(1), r.GetString(2));
            }
        }

        if (constraint is null)
        {
            throw new ArgumentException($"--orphans {spec}: {table}.{column} is not a foreign key of the kit's schema.");
        }

        // The source keeps the rows as the export saw them: its own key goes, the rows point past the parent's last key.
        await ExecAsync(conn, $"ALTER TABLE public.{table} DROP CONSTRAINT {constraint}", ct);
        var keys = new List<long>();
        await using (var cmd = new NpgsqlCommand($"""
            WITH victims AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM public.{table} WHERE {column} IS NOT NULL ORDER BY id LIMIT {count}),
                 top AS (SELECT max({parentColumn}) AS m FROM {parent})
            UPDATE public.{table} t SET {column} = top.m + 1000 + victims.n FROM victims, top WHERE t.id = victims.id
            RETURNING t.{column}
            """, conn))
        {
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                keys.Add(Convert.ToInt64(r.GetValue(0)));
            }
        }

        keys.Sort();
        return new PublishedOrphans(table, column, parent!.Replace("public.", ""), constraint, keys);
    }

    /// <summary>Wraps the subset DDL the way pg_dump 17.6 writes a whole-database dump.</summary>
    public static string DressAsDump(string ddl)
    {
        const string settings = """
            SET statement_timeout = 0;
            SET lock_timeout = 0;
            SET idle_in_transaction_session_timeout = 0;
            SET transaction_timeout = 0;
            SET client_encoding = 'UTF8';
            SET standard_conforming_strings = on;
            SELECT pg_catalog.set_config('search_path', '', false);
            SET check_function_bodies = false;
            SET xmloption = content;
            SET client_min_messages = warning;
            SET row_security = off;

            """;
        var sb = new StringBuilder();
        sb.Append("--\n-- PostgreSQL database dump\n--\n\n\\restrict Fx9bulkdataFixtureKey\n\n");
        sb.Append("-- Dumped from database version 14.12\n-- Dumped by pg_dump version 17.6\n\n");
        sb.Append(settings.Replace("\r\n", "\n"));
        sb.Append("--\n-- Name: courtlistener; Type: DATABASE; Schema: -; Owner: django\n--\n\n");
        sb.Append("CREATE DATABASE courtlistener WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'en_US.UTF-8';\n\n\n");
        sb.Append("ALTER DATABASE courtlistener OWNER TO django;\n\n");
        sb.Append("\\unrestrict Fx9bulkdataFixtureKey\n\\connect courtlistener\n\\restrict Fx9bulkdataFixtureKey\n\n");
        sb.Append(settings.Replace("\r\n", "\n"));
        sb.Append("SET default_tablespace = '';\n\nSET default_table_access_method = heap;\n\n");
        foreach (var statement in ddl.Split(";\n"))
        {
            string s = statement.Trim();
            if (s.Length == 0 || s.StartsWith("--", StringComparison.Ordinal) && !s.Contains('\n'))
            {
                continue;
            }

            sb.Append(s).Append(";\n\n");
            var create = System.Text.RegularExpressions.Regex.Match(s, @"CREATE TABLE (public\.\w+)");
            if (create.Success)
            {
                sb.Append($"\nALTER TABLE {create.Groups[1].Value} OWNER TO django;\n\n");
            }
        }

        // A trigger of the kind django-pgtrigger installs: its function is not in the dump.
        sb.Append("CREATE TRIGGER pgtrigger_update_or_delete_snapshot_update_abc12 AFTER UPDATE ON public.search_docket FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.pgtrigger_update_or_delete_snapshot_update_abc12();\n\n");
        sb.Append("COMMENT ON TRIGGER pgtrigger_update_or_delete_snapshot_update_abc12 ON public.search_docket IS '{\"hash\": \"0a1b2c\"}';\n\n");
        sb.Append("GRANT SELECT ON TABLE public.search_court TO readonly_role;\n\n");
        sb.Append("--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict Fx9bulkdataFixtureKey\n\n");
        return sb.ToString();
    }

    public static IAmazonS3 CreateClient(string endpointUrl)
        => S3ClientFactory.Create(new BucketLocation { EndpointUrl = endpointUrl }, new S3Credentials("S3RVER", "S3RVER"));

    public static async Task EnsureBucketAsync(IAmazonS3 s3, string bucket, CancellationToken ct)
    {
        try
        {
            await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, ct);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
        }
    }

    /// <summary>Uploads a file, in parts when it is larger than <paramref name="partSize"/>; returns the ETag without quotes.</summary>
    public static async Task<string> UploadAsync(IAmazonS3 s3, string bucket, string key, string path, long partSize, CancellationToken ct)
    {
        long length = new FileInfo(path).Length;
        if (partSize <= 0 || length <= partSize)
        {
            var put = await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, FilePath = path, UseChunkEncoding = false }, ct);
            return put.ETag.Trim('"');
        }

        var init = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = key }, ct);
        var parts = new List<PartETag>();
        int number = 1;
        for (long offset = 0; offset < length; offset += partSize, number++)
        {
            var part = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket, Key = key, UploadId = init.UploadId, PartNumber = number,
                FilePath = path, FilePosition = offset, PartSize = Math.Min(partSize, length - offset),
                UseChunkEncoding = false,
            }, ct);
            parts.Add(new PartETag(number, part.ETag));
        }

        var done = await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = init.UploadId, PartETags = parts }, ct);
        return done.ETag.Trim('"');
    }

    public static async Task RecreateDatabaseAsync(string connectionString, string database, CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using var conn = new NpgsqlConnection(admin);
        await conn.OpenAsync(ct);
        await ExecAsync(conn, $"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", ct);
        await ExecAsync(conn, $"CREATE DATABASE \"{database}\" TEMPLATE template0 ENCODING 'UTF8'", ct);
    }

    public static async Task ExecAsync(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<List<string>> ColumnsAsync(NpgsqlConnection conn, string table, CancellationToken ct)
    {
        var list = new List<string>();
        await using var cmd = new NpgsqlCommand("SELECT attname FROM pg_attribute WHERE attrelid = ('public.' || $1)::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum", conn);
        cmd.Parameters.AddWithValue(table);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(reader.GetString(0));
        }

        return list;
    }

    public static async Task<long> CountAsync(NpgsqlConnection conn, string table, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"SELECT count(*) FROM public.{table}", conn);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>COPY ... TO STDOUT piped through a bzip2 compressor into <paramref name="path"/>.</summary>
    public static async Task ExportCompressedAsync(NpgsqlConnection conn, string copySql, string path, string compressor, CancellationToken ct, bool binary = false)
    {
        var psi = new ProcessStartInfo(compressor) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("-9");
        using var proc = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {compressor}.");
        await using (var output = File.Create(path))
        {
            var copyOut = proc.StandardOutput.BaseStream.CopyToAsync(output, ct);
            var stdin = proc.StandardInput.BaseStream;
            if (binary)
            {
                await using var raw = await conn.BeginRawBinaryCopyAsync(copySql, ct);
                await raw.CopyToAsync(stdin, ct);
            }
            else
            {
                using var reader = await conn.BeginTextExportAsync(copySql, ct);
                var buffer = new char[1 << 16];
                var encoder = new UTF8Encoding(false);
                var bytes = new byte[encoder.GetMaxByteCount(buffer.Length)];
                int n;
                while ((n = await reader.ReadAsync(buffer, ct)) > 0)
                {
                    int b = encoder.GetBytes(buffer, 0, n, bytes, 0);
                    await stdin.WriteAsync(bytes.AsMemory(0, b), ct);
                }
            }

            stdin.Close();
            await copyOut;
            await proc.WaitForExitAsync(ct);
        }

        if (proc.ExitCode != 0)
        {
            throw new InvalidOperationException($"{compressor} exited with {proc.ExitCode} for {path}.");
        }
    }

    private static string ReadResource(string name)
    {
        using var stream = typeof(Publisher).Assembly.GetManifestResourceStream("BulkData.TestKit.Fixture." + name)
            ?? throw new InvalidOperationException($"Resource {name} missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static string ToJson(object value) => JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true });
}
