using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BulkData.Engine.Manifest;
using BulkData.Engine.Tests;
using Npgsql;

namespace BulkData.TestKit;

public sealed record FullDumpOptions
{
    public required string ConnectionString { get; init; }

    public required string OutputDirectory { get; init; }

    /// <summary>The real schema file; else found in ../shared/fixtures/courtlistener (<see cref="RealSchema.Load"/>).</summary>
    public string? SchemaFile { get; init; }

    /// <summary>About this many MB of CSV in all (the opinions about 70 % of it).</summary>
    public double SizeMB { get; init; } = 400;

    public DateTime DumpDate { get; init; } = new(2026, 9, 30);

    public string SourceDatabase { get; init; } = "cl_full_source";

    public string Compressor { get; init; } = "lbzip2";

    public int Seed { get; init; } = 42;

    public string? EndpointUrl { get; init; }

    public string Bucket { get; init; } = "com-courtlistener-storage";

    public string Prefix { get; init; } = "bulk-data/";

    public long MultipartPartSize { get; init; } = 8 * 1024 * 1024;
}

/// <summary>One exported table of a full dump: its rows, CSV bytes, and the columns exported (the exporter's order).</summary>
public sealed record FullDumpTable(string Table, string Dataset, string FileName, string Path, long Rows, long CsvBytes, long Bz2Bytes, IReadOnlyList<string> Columns);

/// <summary>What a full dump holds, and what its source database has (tests and the benchmark compare against it).</summary>
public sealed record FullDumpResult(
    string SourceDatabase, string DumpDate, string Directory, IReadOnlyList<FullDumpTable> Tables, IReadOnlyList<PublishedFile> Files,
    int SchemaTables, int Indexes, int ForeignKeys, long CsvBytes, long Bz2Bytes, IReadOnlyList<string> Stripped, double Seconds);

/// <summary>
/// The test kit's 33-table mode: a source database made from the real schema (<see cref="RealSchema"/>), filled with
/// generated rows shaped like the real dump (opinions about 70 % of the bytes; dockets, clusters, citations, the
/// citation map and people smaller; the other exported tables small, one empty as in the real exports), every
/// primary key, unique constraint, check and foreign key holding (the post-data is applied after the load, so a
/// broken one fails here). Then exported as the publisher does: one <c>COPY ... TO STDOUT</c> per exported table in
/// today's dialect, bzip2, <c>schema-&lt;date&gt;.sql</c> from <c>pg_dump --create --schema-only</c>, and the exporter's
/// load script.
/// </summary>
public static class FullDump
{
    /// <summary>With <see cref="Rows"/> rows per table, the export measured this many MB of CSV: the counts scale linearly from it.</summary>
    public const double CalibrationMB = 453;

    /// <summary>Rows per exported table at <see cref="CalibrationMB"/> of CSV (scaled linearly with the size asked for; 0 stays empty).</summary>
    public static readonly IReadOnlyDictionary<string, int> Rows = new Dictionary<string, int>
    {
        ["search_opinion"] = 29000,
        ["search_opinioncluster"] = 24000,
        ["search_docket"] = 65000,
        ["search_opinionscited"] = 400000,
        ["search_citation"] = 40000,
        ["search_parenthetical"] = 15000,
        ["people_db_person"] = 3000,
        ["people_db_position"] = 6000,
        ["people_db_school"] = 1000,
        ["people_db_race"] = 8,
        ["people_db_person_race"] = 2500,
        ["people_db_education"] = 3000,
        ["people_db_politicalaffiliation"] = 2500,
        ["people_db_retentionevent"] = 1500,
        ["search_court"] = 300,
        ["search_courthouse"] = 400,
        ["search_court_appeals_to"] = 400,
        ["recap_fjcintegrateddatabase"] = 15000,
        ["search_originatingcourtinformation"] = 10000,
        ["search_opinioncluster_panel"] = 20000,
        ["search_opinioncluster_non_participating_judges"] = 0,
        ["search_opinion_joined_by"] = 4000,
        ["audio_audio"] = 2000,
        ["disclosures_financialdisclosure"] = 1500,
        ["disclosures_investment"] = 30000,
        ["disclosures_position"] = 3000,
        ["disclosures_agreement"] = 1500,
        ["disclosures_noninvestmentincome"] = 2000,
        ["disclosures_spouseincome"] = 1000,
        ["disclosures_reimbursement"] = 2500,
        ["disclosures_gift"] = 500,
        ["disclosures_debt"] = 1000,
        ["citations_unmatchedcitation"] = 3000,
    };

    /// <summary>Fixed sizes (lookups).</summary>
    private static readonly Dictionary<string, int> FixedRows = new() { ["people_db_race"] = 8 };

    /// <summary>The large text columns of opinions: about this many characters each on average.</summary>
    private static readonly Dictionary<(string Table, string Column), int> Documents = new()
    {
        [("search_opinion", "plain_text")] = 5400,
        [("search_opinion", "html_with_citations")] = 5400,
        [("search_opinioncluster", "syllabus")] = 150,
        [("search_opinioncluster", "headmatter")] = 200,
        [("search_parenthetical", "text")] = 120,
        [("audio_audio", "stt_transcript")] = 600,
    };

    public static async Task<FullDumpResult> PublishAsync(FullDumpOptions o, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var schema = RealSchema.Load(o.SchemaFile);
        Directory.CreateDirectory(o.OutputDirectory);
        await Publisher.RecreateDatabaseAsync(o.ConnectionString, o.SourceDatabase, ct);
        var sourceCs = new NpgsqlConnectionStringBuilder(o.ConnectionString) { Database = o.SourceDatabase, CommandTimeout = 0, Pooling = false }.ConnectionString;
        await using var conn = new NpgsqlConnection(sourceCs);
        await conn.OpenAsync(ct);
        await Publisher.ExecAsync(conn, string.Join(";\n", schema.PreData), ct);

        var exporter = ExporterTables.All.ToList();
        var columns = await ColumnsAsync(conn, ct);
        foreach (var t in exporter)
        {
            if (!columns.ContainsKey(t.Table))
            {
                throw new InvalidDataException($"{schema.Path}: the exported table {t.Table} is not in the schema.");
            }
        }

        // Rows per table, then generation in foreign-key order, then the post-data (which checks every constraint).
        double scale = o.SizeMB / CalibrationMB;
        var rows = exporter.ToDictionary(t => t.Table, t => RowCount(t.Table, scale));
        var plans = exporter.ToDictionary(t => t.Table, t => PlanTable(t.Table, columns, schema, rows));
        foreach (var table in TopologicalOrder(exporter.Select(t => t.Table).ToList(), schema))
        {
            await GenerateAsync(conn, table, plans[table], rows[table], o.Seed, ct);
        }

        await Publisher.ExecAsync(conn, string.Join(";\n", schema.PostData), ct);
        await Publisher.ExecAsync(conn, "ANALYZE", ct);

        // The export, as the publisher's exporter does it today.
        string date = o.DumpDate.ToString("yyyy-MM-dd");
        string schemaDate = o.DumpDate.AddDays(1).ToString("yyyy-MM-dd");
        string schemaName = $"schema-{schemaDate}.sql";
        var tables = new List<FullDumpTable>();
        var files = new List<PublishedFile>();
        var scriptTables = new List<LoadScriptTable>();
        await Publisher.ExecAsync(conn, "SET TimeZone = 'America/New_York'", ct);
        foreach (var t in exporter)
        {
            var have = columns[t.Table];
            // The exporter's columns the table has, in the exporter's order; a NOT NULL column without default it lacks goes last.
            var export = t.Columns.Where(c => have.Any(h => h.Name == c)).ToList();
            export.AddRange(have.Where(h => h.NotNull && !h.HasDefault && !export.Contains(h.Name)).Select(h => h.Name));
            var entry = DatasetCatalog.Find(t.Table) ?? throw new InvalidOperationException($"{t.Table} is not in the catalogue.");
            string csvName = entry.FileName(o.DumpDate)[..^4];
            string path = Path.Combine(o.OutputDirectory, csvName + ".bz2");
            string columnList = string.Join(", ", export.Select(Quote));
            long csvBytes = await ExportAsync(conn, $"COPY public.{t.Table} ({columnList}) TO STDOUT WITH ({Publisher.ExportOptions(Dialect.Escape)})", path, o.Compressor, ct);
            long count = await Publisher.CountAsync(conn, t.Table, ct);
            tables.Add(new FullDumpTable(t.Table, entry.Dataset, csvName + ".bz2", path, count, csvBytes, new FileInfo(path).Length, export));
            files.Add(new PublishedFile(entry.Dataset, t.Table, csvName + ".bz2", o.Prefix + csvName + ".bz2", path, new FileInfo(path).Length, "", count, "Data", false, export));
            scriptTables.Add(new LoadScriptTable(t.Table, export, csvName));
        }

        string schemaPath = Path.Combine(o.OutputDirectory, schemaName);
        await PgDumpSchemaAsync(sourceCs, schemaPath, ct);
        files.Add(new PublishedFile("schema", "", schemaName, o.Prefix + schemaName, schemaPath, new FileInfo(schemaPath).Length, "", 0, "Schema"));
        string loadPath = Path.Combine(o.OutputDirectory, $"load-bulk-data-{schemaDate}.sh");
        await File.WriteAllTextAsync(loadPath, LoadScriptWriter.Render(Dialect.Escape, schemaName, scriptTables, LoadScriptStyle.Exporter), new UTF8Encoding(false), ct);
        files.Add(new PublishedFile("load-bulk-data", "", Path.GetFileName(loadPath), o.Prefix + Path.GetFileName(loadPath), loadPath, new FileInfo(loadPath).Length, "", 0, "LoadScript"));

        if (o.EndpointUrl is not null)
        {
            using var s3 = Publisher.CreateClient(o.EndpointUrl);
            await Publisher.EnsureBucketAsync(s3, o.Bucket, ct);
            for (int i = 0; i < files.Count; i++)
            {
                files[i] = files[i] with { ETag = await Publisher.UploadAsync(s3, o.Bucket, files[i].Key, files[i].Path, o.MultipartPartSize, ct) };
            }
        }

        int indexes = Convert.ToInt32(await ScalarAsync(conn, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'", ct));
        int fks = Convert.ToInt32(await ScalarAsync(conn, "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND c.contype = 'f'", ct));
        return new FullDumpResult(o.SourceDatabase, date, o.OutputDirectory, tables, files, columns.Count, indexes, fks,
            tables.Sum(t => t.CsvBytes), tables.Sum(t => t.Bz2Bytes), schema.Stripped, clock.Elapsed.TotalSeconds);
    }

    public static int RowCount(string table, double scale)
    {
        if (FixedRows.TryGetValue(table, out int fixedRows))
        {
            return fixedRows;
        }

        int at = Rows.TryGetValue(table, out int n) ? n : 0;
        return at == 0 ? 0 : Math.Max(table == "search_court" ? 8 : 3, (int)Math.Round(at * scale));
    }

    // ------------------------------------------------------------------ the plan of each column

    private sealed record Column(string Name, string Type, bool NotNull, bool HasDefault);

    private enum Kind { Key, Foreign, PairFirst, PairSecond, UniqueForeign, Unique, Plain }

    private sealed record ColumnPlan(Column Column, Kind Kind, string? Parent = null, int ParentRows = 0, int OtherRows = 0, string? ParentKeyType = null);

    private static ColumnPlan[] PlanTable(string table, Dictionary<string, List<Column>> all, RealSchema schema, Dictionary<string, int> rows)
    {
        var cols = all[table];
        var kinds = cols.ToDictionary(c => c.Name, c => Kind.Plain);
        var fks = schema.ForeignKeys.Where(f => f.Table == table).GroupBy(f => f.Column).ToDictionary(g => g.Key, g => g.First());
        foreach (var fk in fks.Values)
        {
            kinds[fk.Column] = Kind.Foreign;
        }

        string ParentKeyType(string parent) => all[parent].First(c => c.Name == PrimaryKey(schema, parent)).Type;
        int Rows(string t) => rows.TryGetValue(t, out int n) ? n : 0;
        var pairs = new Dictionary<string, (string Other, bool First)>();
        foreach (var key in schema.Keys.Where(k => k.Table == table))
        {
            if (key.Primary && key.Columns.Count == 1)
            {
                kinds[key.Columns[0]] = Kind.Key;
                continue;
            }

            // A column that is not a foreign key makes the whole key unique on its own.
            var free = key.Columns.FirstOrDefault(c => !fks.ContainsKey(c) && CanBeUnique(cols.First(x => x.Name == c), Rows(table)));
            if (free is not null)
            {
                kinds[free] = Kind.Unique;
            }
            else if (key.Columns.Count == 1)
            {
                kinds[key.Columns[0]] = Kind.UniqueForeign;
                var fk = fks[key.Columns[0]];
                if (cols.First(c => c.Name == fk.Column).NotNull && Rows(table) > Rows(fk.RefTable))
                {
                    rows[table] = Rows(fk.RefTable);
                }
            }
            else if (key.Columns.Count == 2)
            {
                kinds[key.Columns[0]] = Kind.PairFirst;
                kinds[key.Columns[1]] = Kind.PairSecond;
                pairs[key.Columns[0]] = (key.Columns[1], true);
                pairs[key.Columns[1]] = (key.Columns[0], false);
                long most = (long)Rows(fks[key.Columns[0]].RefTable) * Rows(fks[key.Columns[1]].RefTable);
                if (Rows(table) > most)
                {
                    rows[table] = (int)most;
                }
            }
            else
            {
                throw new NotSupportedException($"{table}: the kit cannot fill the key {key.Name} ({string.Join(", ", key.Columns)}): every column is a foreign key.");
            }
        }

        var plan = new ColumnPlan[cols.Count];
        for (int i = 0; i < cols.Count; i++)
        {
            var c = cols[i];
            var kind = kinds[c.Name];
            if (fks.TryGetValue(c.Name, out var fk))
            {
                if (fk.RefColumn != PrimaryKey(schema, fk.RefTable))
                {
                    throw new NotSupportedException($"{table}.{c.Name} references {fk.RefTable}.{fk.RefColumn}, not its primary key.");
                }

                if (c.NotNull && Rows(fk.RefTable) == 0 && Rows(table) > 0)
                {
                    throw new InvalidOperationException($"{table}.{c.Name} is NOT NULL and references {fk.RefTable}, which the kit leaves empty.");
                }

                int other = pairs.TryGetValue(c.Name, out var p) ? Rows(fks[p.Other].RefTable) : 0;
                plan[i] = new ColumnPlan(c, kind, fk.RefTable, Rows(fk.RefTable), other, ParentKeyType(fk.RefTable));
            }
            else
            {
                plan[i] = new ColumnPlan(c, kind);
            }
        }

        return plan;
    }

    private static string PrimaryKey(RealSchema schema, string table)
        => schema.Keys.FirstOrDefault(k => k.Table == table && k.Primary && k.Columns.Count == 1)?.Columns[0]
           ?? throw new NotSupportedException($"{table} has no one-column primary key.");

    private static bool CanBeUnique(Column c, int rows) => c.Type switch
    {
        "integer" or "bigint" or "text" or "double precision" => true,
        "smallint" => rows < 32000,
        _ when c.Type.StartsWith("character varying(", StringComparison.Ordinal) => VarcharLength(c.Type) >= rows.ToString(CultureInfo.InvariantCulture).Length,
        _ => false,
    };

    private static int VarcharLength(string type) => int.Parse(type["character varying(".Length..^1], CultureInfo.InvariantCulture);

    private static List<string> TopologicalOrder(List<string> tables, RealSchema schema)
    {
        var order = new List<string>();
        var state = new Dictionary<string, int>();
        void Visit(string t)
        {
            if (state.GetValueOrDefault(t) == 2)
            {
                return;
            }

            if (state.GetValueOrDefault(t) == 1)
            {
                throw new InvalidOperationException($"A foreign-key cycle through {t}.");
            }

            state[t] = 1;
            foreach (var fk in schema.ForeignKeys.Where(f => f.Table == t && f.RefTable != t && tables.Contains(f.RefTable)))
            {
                Visit(fk.RefTable);
            }

            state[t] = 2;
            order.Add(t);
        }

        foreach (var t in tables)
        {
            Visit(t);
        }

        return order;
    }

    // ------------------------------------------------------------------ rows

    private static readonly DateTime Epoch = new(2010, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static async Task GenerateAsync(NpgsqlConnection conn, string table, ColumnPlan[] plan, int rows, int seed, CancellationToken ct)
    {
        if (rows == 0)
        {
            return;
        }

        var text = new TextMaker(seed ^ (int)(StableHash(table) & 0x7fffffff));
        var r = text.Random;
        string columnList = string.Join(", ", plan.Select(p => Quote(p.Column.Name)));
        await using var writer = await conn.BeginTextImportAsync($"COPY public.{table} ({columnList}) FROM STDIN", ct);
        var line = new StringBuilder(16384);
        for (int g = 1; g <= rows; g++)
        {
            line.Clear();
            for (int i = 0; i < plan.Length; i++)
            {
                if (i > 0)
                {
                    line.Append('\t');
                }

                string? v = Value(table, plan[i], g, rows, text, r);
                if (v is null)
                {
                    line.Append("\\N");
                }
                else
                {
                    AppendEscaped(line, v);
                }
            }

            line.Append('\n');
            await writer.WriteAsync(line.ToString());
        }
    }

    private static string? Value(string table, ColumnPlan p, int g, int rows, TextMaker text, Random r)
    {
        var c = p.Column;
        switch (p.Kind)
        {
            case Kind.Key:
                return KeyValue(c.Type, g);
            case Kind.Foreign:
                if (p.Parent == table)
                {
                    return g > 1 && g % 10 == 0 ? KeyValue(p.ParentKeyType!, g - 1) : c.NotNull ? KeyValue(p.ParentKeyType!, g) : null;
                }

                if (p.ParentRows == 0 || (!c.NotNull && r.Next(4) == 0))
                {
                    return null;
                }

                return KeyValue(p.ParentKeyType!, 1 + (int)((uint)Hash(g, c.Name) % (uint)p.ParentRows));
            case Kind.UniqueForeign:
                return g <= p.ParentRows && (c.NotNull || r.Next(3) > 0) ? KeyValue(p.ParentKeyType!, g) : null;
            case Kind.PairFirst:
                return KeyValue(p.ParentKeyType!, (g - 1) % p.ParentRows + 1);
            case Kind.PairSecond:
            {
                // The first column is (g - 1) % A + 1; for a fixed first value, (g - 1) / A runs 0, 1, 2 ... so every pair differs.
                int a = p.OtherRows, first = (g - 1) % a + 1;
                return KeyValue(p.ParentKeyType!, (int)(((long)(g - 1) / a + first * 7L) % p.ParentRows) + 1);
            }
        }

        bool unique = p.Kind == Kind.Unique;
        if (!unique && !c.NotNull && r.Next(7) == 0)
        {
            return null;
        }

        string type = c.Type;
        if (type.StartsWith("character varying(", StringComparison.Ordinal))
        {
            int n = VarcharLength(type);
            if (c.Name.Contains("sha1", StringComparison.Ordinal) && n >= 40)
            {
                return Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes($"{table}:{g}"))).ToLowerInvariant();
            }

            if (unique)
            {
                string s = g.ToString(CultureInfo.InvariantCulture) + " " + text.Phrase(2);
                return s.Length > n ? s[..n] : s;
            }

            return c.NotNull && r.Next(10) == 0 ? "" : text.Phrase(1 + r.Next(n > 60 ? 6 : 2), n);
        }

        return type switch
        {
            "integer" or "bigint" => unique ? g.ToString(CultureInfo.InvariantCulture) : r.Next(0, 5000).ToString(CultureInfo.InvariantCulture),
            "smallint" => unique ? g.ToString(CultureInfo.InvariantCulture) : r.Next(0, 100).ToString(CultureInfo.InvariantCulture),
            "boolean" => r.Next(3) == 0 ? "t" : "f",
            "text" => unique ? $"{g} {text.Phrase(2)}"
                : Documents.TryGetValue((table, c.Name), out int size) ? text.Document(size / 4 + r.Next(size * 3 / 2), c.Name.StartsWith("html", StringComparison.Ordinal))
                : table == "search_opinion" && (c.Name.StartsWith("html", StringComparison.Ordinal) || c.Name.StartsWith("xml", StringComparison.Ordinal)) ? ""
                : c.NotNull && r.Next(8) == 0 ? "" : text.Phrase(1 + r.Next(6)),
            "timestamp with time zone" => Epoch.AddSeconds(g * 37L + r.Next(86400)).AddTicks(r.Next(10_000_000)).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00",
            "date" => new DateTime(1950, 1, 1).AddDays(r.Next(27000)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "double precision" => unique ? g.ToString(CultureInfo.InvariantCulture) : Math.Round(r.NextDouble() * 100, 3).ToString("R", CultureInfo.InvariantCulture),
            "uuid" => new Guid(SHA1.HashData(Encoding.UTF8.GetBytes($"{table}:{c.Name}:{g}")).AsSpan(0, 16)).ToString(),
            "jsonb" => $"{{\"n\": {g}, \"note\": \"{text.Word()}\"}}",
            "time without time zone" => TimeSpan.FromSeconds(r.Next(86400)).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture),
            _ => throw new NotSupportedException($"{table}.{c.Name}: the kit does not generate values of type {type}."),
        };
    }

    private static string KeyValue(string keyType, int i)
        => keyType.StartsWith("character varying", StringComparison.Ordinal) ? "c" + i.ToString(CultureInfo.InvariantCulture) : i.ToString(CultureInfo.InvariantCulture);

    private static int Hash(int g, string column)
    {
        unchecked
        {
            uint h = (uint)g * 2654435761u ^ StableHash(column);
            h ^= h >> 15;
            h *= 2246822519u;
            h ^= h >> 13;
            return (int)(h & 0x7fffffff);
        }
    }

    /// <summary>FNV-1a: the same in every process (string.GetHashCode is not).</summary>
    private static uint StableHash(string s)
    {
        uint h = 2166136261;
        foreach (char ch in s)
        {
            h = unchecked((h ^ ch) * 16777619);
        }

        return h;
    }

    private static void AppendEscaped(StringBuilder sb, string v)
    {
        foreach (char ch in v)
        {
            switch (ch)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default: sb.Append(ch); break;
            }
        }
    }

    private static string Quote(string column) => column is "position" or "type" or "year" ? $"\"{column}\"" : column;

    // ------------------------------------------------------------------ catalogue, export, pg_dump

    private static async Task<Dictionary<string, List<Column>>> ColumnsAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var result = new Dictionary<string, List<Column>>();
        await using var cmd = new NpgsqlCommand("""
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY c.relname, a.attnum
            """, conn);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            string t = reader.GetString(0);
            if (!result.TryGetValue(t, out var list))
            {
                result[t] = list = new List<Column>();
            }

            list.Add(new Column(reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetBoolean(4)));
        }

        return result;
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return await cmd.ExecuteScalarAsync(ct);
    }

    /// <summary>COPY ... TO STDOUT through the compressor into a temporary name, renamed when complete; returns the CSV bytes.</summary>
    private static async Task<long> ExportAsync(NpgsqlConnection conn, string copySql, string path, string compressor, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(compressor) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("-9");
        string partial = path + ".partial";
        long bytes = 0;
        using (var proc = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {compressor}."))
        {
            await using (var output = File.Create(partial))
            {
                var copyOut = proc.StandardOutput.BaseStream.CopyToAsync(output, ct);
                var stdin = proc.StandardInput.BaseStream;
                using (var reader = await conn.BeginTextExportAsync(copySql, ct))
                {
                    var chars = new char[1 << 16];
                    var utf8 = new UTF8Encoding(false);
                    var buffer = new byte[utf8.GetMaxByteCount(chars.Length)];
                    var encoder = utf8.GetEncoder();
                    int n;
                    while ((n = await reader.ReadAsync(chars, ct)) > 0)
                    {
                        int b = encoder.GetBytes(chars, 0, n, buffer, 0, flush: false);
                        bytes += b;
                        await stdin.WriteAsync(buffer.AsMemory(0, b), ct);
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

        File.Move(partial, path, overwrite: true);
        return bytes;
    }

    /// <summary><c>pg_dump --create --schema-only</c> of the source, as the publisher makes <c>schema-&lt;date&gt;.sql</c>.</summary>
    private static async Task PgDumpSchemaAsync(string connectionString, string path, CancellationToken ct)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var psi = new ProcessStartInfo("pg_dump") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "--create", "--schema-only", "--file", path + ".partial", "--host", b.Host!, "--port", b.Port.ToString(CultureInfo.InvariantCulture), "--username", b.Username!, b.Database! })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["PGPASSWORD"] = b.Password ?? "";
        using var proc = Process.Start(psi) ?? throw new InvalidOperationException("Could not start pg_dump.");
        string err = await proc.StandardError.ReadToEndAsync(ct);
        await proc.WaitForExitAsync(ct);
        if (proc.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_dump --schema-only of {b.Database} failed ({proc.ExitCode}): {err.Trim()}");
        }

        File.Move(path + ".partial", path, overwrite: true);
    }
}
