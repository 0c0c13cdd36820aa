using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;
using Npgsql;

namespace BulkData.TestKit;

/// <summary>The CSV dialects the publisher has used over the years (see the facts file).</summary>
public enum Dialect
{
    /// <summary>Now: <c>FORMAT csv, HEADER, ENCODING 'utf8', ESCAPE '\'</c>.</summary>
    Escape,

    /// <summary>2023-2024 and 2025: every non-NULL value quoted, backslash escape.</summary>
    ForceQuote,

    /// <summary>2024-12-31: <c>QUOTE '`'</c> and no escape.</summary>
    Backtick,

    /// <summary>Plain RFC 4180: doubled quotes.</summary>
    Rfc4180,
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

public sealed record PublishedFile(string Dataset, string Table, string FileName, string Key, string Path, long Size, string ETag, long Rows, string Kind);

public sealed record PublishedDump(string SourceDatabase, string DumpDate, string Dialect, IReadOnlyList<PublishedFile> Files);

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

        string date = o.DumpDate.ToString("yyyy-MM-dd");
        string schemaDate = o.DumpDate.AddDays(o.SchemaDayOffset).ToString("yyyy-MM-dd");
        var files = new List<PublishedFile>();
        var load = new StringBuilder(LoadScriptHeader(schemaDate));
        foreach (var table in Tables)
        {
            string dataset = DatasetCatalog.DatasetFor(table)!;
            var columns = await ColumnsAsync(conn, table, ct);
            // The publisher's column order is its own, not the table's.
            var exportOrder = columns.Take(1).Concat(columns.Skip(1).OrderBy(c => c, StringComparer.Ordinal)).ToList();
            string columnList = string.Join(", ", exportOrder.Select(Quote));
            string csvName = $"{dataset}-{date}.csv";
            string path = Path.Combine(o.OutputDirectory, csvName + ".bz2");
            await ExportCompressedAsync(conn, $"COPY public.{table} ({columnList}) TO STDOUT WITH ({ExportOptions(o.Dialect)})", path, o.Compressor, ct);
            long rows = await CountAsync(conn, table, ct);
            files.Add(new PublishedFile(dataset, table, csvName + ".bz2", o.Prefix + csvName + ".bz2", path, new FileInfo(path).Length, "", rows, "Data"));
            load.Append($"echo \"Loading {csvName} to database\"\n");
            load.Append($"psql --command \"COPY public.{table} ({string.Join(", ", exportOrder.Select(c => QuoteForShell(Quote(c))))}) FROM '$BULK_DIR/{csvName}' WITH ({LoadOptions(o.Dialect)})\" --host \"$BULK_DB_HOST\" --username \"$BULK_DB_USER\" --dbname \"$BULK_DB_NAME\"\n\n");
        }

        string schemaPath = Path.Combine(o.OutputDirectory, $"schema-{schemaDate}.sql");
        await File.WriteAllTextAsync(schemaPath, DressAsDump(SubsetSchema), new UTF8Encoding(false), ct);
        files.Add(new PublishedFile("schema", "", Path.GetFileName(schemaPath), o.Prefix + Path.GetFileName(schemaPath), schemaPath, new FileInfo(schemaPath).Length, "", 0, "Schema"));
        string loadPath = Path.Combine(o.OutputDirectory, $"load-bulk-data-{schemaDate}.sh");
        await File.WriteAllTextAsync(loadPath, load.ToString(), new UTF8Encoding(false), ct);
        files.Add(new PublishedFile("load-bulk-data", "", Path.GetFileName(loadPath), o.Prefix + Path.GetFileName(loadPath), loadPath, new FileInfo(loadPath).Length, "", 0, "LoadScript"));

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

        return new PublishedDump(o.SourceDatabase, date, o.Dialect.ToString(), files);
    }

    public static string ExportOptions(Dialect d) => d switch
    {
        Dialect.Escape => "FORMAT csv, HEADER, ENCODING 'utf8', ESCAPE '\\'",
        Dialect.ForceQuote => "FORMAT csv, HEADER, ENCODING 'utf8', ESCAPE '\\', FORCE_QUOTE *",
        Dialect.Backtick => "FORMAT csv, HEADER, ENCODING 'utf8', QUOTE '`'",
        _ => "FORMAT csv, HEADER, ENCODING 'utf8'",
    };

    // How the load script states the options, inside a bash double-quoted string.
    private static string LoadOptions(Dialect d) => d switch
    {
        Dialect.Escape or Dialect.ForceQuote => "FORMAT csv, ENCODING utf8, ESCAPE '\\', HEADER",
        Dialect.Backtick => "FORMAT csv, ENCODING utf8, QUOTE '\\`', HEADER",
        _ => "FORMAT csv, ENCODING utf8, HEADER",
    };

    private static string Quote(string column) => column is "position" or "type" ? $"\"{column}\"" : column;

    private static string QuoteForShell(string s) => s.Replace("\"", "\\\"");

    private static string LoadScriptHeader(string schemaDate) => $$"""
        #!/bin/bash
        set -e
        # You must place all uncompressed bulk files in the same directory and set
        # environment variable BULK_DIR, BULK_DB_HOST, BULK_DB_USER, BULK_DB_PASSWORD

        if [[ -z ${BULK_DIR} ]];
        then
        echo "Variable having name 'BULK_DIR' is not set. BULK_DIR is where all the unzipped files are."
        exit
        fi

        # Default from schema is 'courtlistener'
        export BULK_DB_NAME=courtlistener
        export PGPASSWORD=$BULK_DB_PASSWORD

        echo "Loading schema to database: schema-{{schemaDate}}.sql"
        psql -f "$BULK_DIR"/schema-{{schemaDate}}.sql --host "$BULK_DB_HOST" --username "$BULK_DB_USER"


        """.Replace("\r\n", "\n");

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
    public static async Task ExportCompressedAsync(NpgsqlConnection conn, string copySql, string path, string compressor, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(compressor) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("-9");
        using var proc = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {compressor}.");
        await using (var output = File.Create(path))
        {
            var copyOut = proc.StandardOutput.BaseStream.CopyToAsync(output, ct);
            var stdin = proc.StandardInput.BaseStream;
            using (var reader = await conn.BeginTextExportAsync(copySql, ct))
            {
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
