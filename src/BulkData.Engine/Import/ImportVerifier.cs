using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>Checks after a load: rows whose foreign key has no match (orphans), and duplicate key values.</summary>
internal static class ImportVerifier
{
    /// <summary>
    /// The tables -Verify checks: every table planned at the start and every table with a result in the run (fed by
    /// Start-BulkFetch, most tables arrive after the start), each once, the schema script's result left out.
    /// </summary>
    public static IReadOnlyList<string> TablesOfRun(IEnumerable<Tables.TableJob> planned, IEnumerable<ImportResult> results, string schemaResultTable)
        => planned.Select(j => j.QualifiedTable)
            .Concat(results.Where(r => !string.Equals(r.Table, schemaResultTable, StringComparison.Ordinal)).Select(r => r.Table))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();

    private sealed record Constraint(string Name, string Table, string[] Columns, string? RefTable, string[] RefColumns);

    public static async Task<IReadOnlyList<ImportVerification>> OrphansAsync(NpgsqlConnection c, IReadOnlyList<string> tables, CancellationToken ct)
    {
        var list = new List<ImportVerification>();
        foreach (var fk in await ConstraintsAsync(c, tables, "f", ct).ConfigureAwait(false))
        {
            string join = string.Join(" AND ", fk.Columns.Zip(fk.RefColumns, (a, b) => $"p.{QualifiedName.QuoteIdentifier(b)} = c.{QualifiedName.QuoteIdentifier(a)}"));
            string notNull = string.Join(" AND ", fk.Columns.Select(a => $"c.{QualifiedName.QuoteIdentifier(a)} IS NOT NULL"));
            string sql = $"SELECT count(*) FROM {Qualify(fk.Table)} c WHERE {notNull} AND NOT EXISTS (SELECT 1 FROM {Qualify(fk.RefTable!)} p WHERE {join})";
            list.Add(new ImportVerification
            {
                Table = fk.Table, Check = "Orphans", Constraint = fk.Name, Columns = string.Join(", ", fk.Columns),
                References = $"{fk.RefTable} ({string.Join(", ", fk.RefColumns)})", Count = await CountAsync(c, sql, ct).ConfigureAwait(false),
            });
        }

        return list;
    }

    /// <summary>
    /// The orphans of one foreign key (<paramref name="constraint"/> of <paramref name="table"/>): their count and a
    /// few sample keys; with <paramref name="remove"/>, deletes them too (in <paramref name="tx"/>) and returns the
    /// count deleted in <see cref="ForeignKeyOrphans.Removed"/>.
    /// </summary>
    public static async Task<ForeignKeyOrphans> OrphansOfAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string table, string constraint, bool remove, CancellationToken ct)
    {
        const string sql = """
            SELECT ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
                   (SELECT rn.nspname || '.' || rc.relname FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = con.confrelid),
                   ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)
            FROM pg_constraint con WHERE con.conrelid = to_regclass($1) AND con.conname = $2 AND con.contype = 'f'
            """;
        string[] columns;
        string refTable;
        string[] refColumns;
        await using (var cmd = new NpgsqlCommand(sql, c, tx))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = Qualify(table) });
            cmd.Parameters.Add(new NpgsqlParameter { Value = constraint });
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (!await r.ReadAsync(ct).ConfigureAwait(false))
            {
                throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"{table}: foreign key {constraint} not found.", table);
            }

            columns = r.GetFieldValue<string[]>(0);
            refTable = r.GetString(1);
            refColumns = r.GetFieldValue<string[]>(2);
        }

        string join = string.Join(" AND ", columns.Zip(refColumns, (a, b) => $"p.{QualifiedName.QuoteIdentifier(b)} = c.{QualifiedName.QuoteIdentifier(a)}"));
        string notNull = string.Join(" AND ", columns.Select(a => $"c.{QualifiedName.QuoteIdentifier(a)} IS NOT NULL"));
        string orphan = $"{notNull} AND NOT EXISTS (SELECT 1 FROM {Qualify(refTable)} p WHERE {join})";
        string key = columns.Length == 1
            ? $"c.{QualifiedName.QuoteIdentifier(columns[0])}::text"
            : "concat_ws(', ', " + string.Join(", ", columns.Select(a => $"c.{QualifiedName.QuoteIdentifier(a)}::text")) + ")";
        long count;
        await using (var cmd = new NpgsqlCommand($"SELECT count(*) FROM {Qualify(table)} c WHERE {orphan}", c, tx) { CommandTimeout = 0 })
        {
            count = Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false));
        }

        var samples = new List<string>();
        await using (var cmd = new NpgsqlCommand($"SELECT DISTINCT {key} FROM {Qualify(table)} c WHERE {orphan} ORDER BY 1 LIMIT {ForeignKeyOrphans.MaxSamples}", c, tx) { CommandTimeout = 0 })
        {
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                samples.Add(r.GetString(0));
            }
        }

        long removed = 0;
        if (remove && count > 0)
        {
            await using var cmd = new NpgsqlCommand($"DELETE FROM {Qualify(table)} c WHERE {orphan}", c, tx) { CommandTimeout = 0 };
            removed = await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        return new ForeignKeyOrphans
        {
            Table = table, Constraint = constraint, Columns = string.Join(", ", columns), References = $"{refTable} ({string.Join(", ", refColumns)})",
            Count = count, SampleKeys = samples, Removed = removed,
        };
    }

    public static async Task<IReadOnlyList<ImportVerification>> DuplicatesAsync(NpgsqlConnection c, IReadOnlyList<string> tables, CancellationToken ct)
    {
        var list = new List<ImportVerification>();
        var keys = (await ConstraintsAsync(c, tables, "p", ct).ConfigureAwait(false)).Concat(await ConstraintsAsync(c, tables, "u", ct).ConfigureAwait(false)).ToList();
        var covered = new HashSet<string>(keys.Select(k => k.Table), StringComparer.OrdinalIgnoreCase);

        // A table without a key yet (post-data not applied): check its "id" column when it has one.
        foreach (var t in tables.Where(t => !covered.Contains(t)))
        {
            await using var cmd = new NpgsqlCommand("SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'id' AND NOT attisdropped", c);
            cmd.Parameters.Add(new NpgsqlParameter { Value = t });
            if (await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null)
            {
                keys.Add(new Constraint("(id column)", t, new[] { "id" }, null, Array.Empty<string>()));
            }
        }

        foreach (var key in keys)
        {
            string cols = string.Join(", ", key.Columns.Select(QualifiedName.QuoteIdentifier));
            // NULLs never collide in a key (UNIQUE allows many).
            string notNull = string.Join(" AND ", key.Columns.Select(col => $"{QualifiedName.QuoteIdentifier(col)} IS NOT NULL"));
            string sql = $"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {Qualify(key.Table)} WHERE {notNull} GROUP BY {cols} HAVING count(*) > 1) d";
            list.Add(new ImportVerification
            {
                Table = key.Table, Check = "DuplicateKeys", Constraint = key.Name, Columns = string.Join(", ", key.Columns), Count = await CountAsync(c, sql, ct).ConfigureAwait(false),
            });
        }

        return list;
    }

    private static string Qualify(string table)
    {
        int dot = table.IndexOf('.');
        return dot > 0 ? new QualifiedName(table[..dot], table[(dot + 1)..]).Sql : new QualifiedName("public", table).Sql;
    }

    private static async Task<long> CountAsync(NpgsqlConnection c, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 0 };
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false));
    }

    private static async Task<List<Constraint>> ConstraintsAsync(NpgsqlConnection c, IReadOnlyList<string> tables, string type, CancellationToken ct)
    {
        const string sql = """
            SELECT con.conname, n.nspname || '.' || cl.relname,
                   ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
                   CASE WHEN con.confrelid <> 0 THEN (SELECT rn.nspname || '.' || rc.relname FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = con.confrelid) END,
                   ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)
            FROM pg_constraint con
            JOIN pg_class cl ON cl.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = cl.relnamespace
            WHERE con.contype = $1::"char" AND (n.nspname || '.' || cl.relname) = ANY($2)
            ORDER BY 2, 1
            """;
        await using var cmd = new NpgsqlCommand(sql, c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = type });
        cmd.Parameters.Add(new NpgsqlParameter { Value = tables.ToArray() });
        var list = new List<Constraint>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new Constraint(r.GetString(0), r.GetString(1), r.GetFieldValue<string[]>(2), r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? Array.Empty<string>() : r.GetFieldValue<string[]>(4)));
        }

        return list;
    }
}
