using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>One index, constraint or trigger of a live table, as pg_get_*def writes it (names schema-qualified).</summary>
internal sealed record DefinedObject(string Name, string Kind, string Definition, bool Validated, string? References = null, bool Disabled = false);

/// <summary>A sequence a column of a live table owns (serial), to be made anew for the staging copy.</summary>
internal sealed record OwnedSequence(string Column, string Name, string Type, long Start, long Increment, long Min, long Max, long Cache, bool Cycle, string Owner, IReadOnlyList<string> Grants);

/// <summary>A live table's definition, read from the catalog: what the staging copy is made of.</summary>
internal sealed record LiveTable(string Schema, string Name, string Sql, string Owner, string[] Options, string? Comment, IReadOnlyList<string> Grants,
    IReadOnlyList<DefinedObject> Indexes, IReadOnlyList<DefinedObject> Keys, IReadOnlyList<DefinedObject> ForeignKeys, IReadOnlyList<DefinedObject> Triggers,
    IReadOnlyList<OwnedSequence> Sequences, IReadOnlyList<string> SequenceColumns)
{
    public string Qualified => $"{Schema}.{Name}";

    /// <summary>The name as pg_get_*def writes it with search_path = pg_catalog (quote_ident of each part).</summary>
    public string DefName { get; init; } = "";
}

/// <summary>A foreign key of a table outside the dump that references one of the swapped tables.</summary>
internal sealed record OutsideForeignKey(string Table, string TableSql, string Name, string Definition, bool Validated, string References);

/// <summary>A plain view that selects from a swapped table: its query is made again on the new generation in the swap.</summary>
internal sealed record DependentView(uint Oid, string Name, string Sql);

/// <summary>
/// What names the swapped tables: materialized views (which follow the table's OID and hold its rows: refused),
/// plain views (their query is made again in the swap), functions, foreign keys from other tables.
/// </summary>
internal sealed record Dependents(IReadOnlyList<string> Views, IReadOnlyList<string> AtomicFunctions, IReadOnlyList<string> FunctionsByName, IReadOnlyList<OutsideForeignKey> ForeignKeys, IReadOnlyList<string> Unsupported)
{
    /// <summary>Plain views bound to the tables: recreated on the new generation in the swap (<see cref="GenerationSwap"/>).</summary>
    public IReadOnlyList<DependentView> PlainViews { get; init; } = Array.Empty<DependentView>();

    /// <summary>
    /// What the swap must alter but the importing role may not (it neither owns it nor is a member of its owner): the
    /// swapped tables, the plain views made again on them, the other tables whose foreign keys are re-pointed. Each
    /// is "kind name (owner role)".
    /// </summary>
    public IReadOnlyList<string> NotOwned { get; init; } = Array.Empty<string>();

    /// <summary>The importing role, as the server names it (for the error about <see cref="NotOwned"/>).</summary>
    public string Role { get; init; } = string.Empty;

    /// <summary>Whether anything here stops a swap: the rule both the start of an -Online run and its swap apply.</summary>
    public bool Blocks => Views.Count > 0 || AtomicFunctions.Count > 0 || Unsupported.Count > 0 || NotOwned.Count > 0;
}

/// <summary>
/// Reads the live definitions and dependents from the catalog. The connection's search_path is pg_catalog, so
/// every name pg_get_indexdef, pg_get_constraintdef and pg_get_triggerdef write is schema-qualified.
/// </summary>
internal static class LiveCatalog
{
    public static async Task UseCatalogSearchPathAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SET search_path = pg_catalog", c);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<List<T>> ListAsync<T>(NpgsqlConnection c, string sql, Func<NpgsqlDataReader, T> read, CancellationToken ct, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 0 };
        foreach (var a in args)
        {
            cmd.Parameters.Add(a is uint oid ? new NpgsqlParameter { Value = oid, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Oid } : new NpgsqlParameter { Value = a });
        }

        var list = new List<T>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(read(r));
        }

        return list;
    }

    /// <summary>GRANT statements re-making an ACL of <paramref name="acl"/> (a column of the row <c>x</c>), for the object named later by <c>{0}</c>.</summary>
    private static string GrantsOf(string acl, string kind, string? column = null)
        => "SELECT 'GRANT ' || a.privilege_type || " + (column is null ? "''" : $"' (' || quote_ident({column}) || ')'") + $" || ' ON {kind} " + "{0}" + " TO '"
           + " || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END"
           + $" FROM aclexplode({acl}) a LEFT JOIN pg_roles r ON r.oid = a.grantee";

    public static async Task<LiveTable> ReadAsync(NpgsqlConnection c, string schema, string name, CancellationToken ct)
    {
        var head = await ListAsync(c, """
            SELECT c.oid, format('%I.%I', n.nspname, c.relname), pg_get_userbyid(c.relowner), COALESCE(c.reloptions, '{}'), obj_description(c.oid, 'pg_class'),
                   c.relkind::text, c.relacl IS NOT NULL, EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid), c.relrowsecurity
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2
            """, r => (Oid: r.GetFieldValue<uint>(0), Def: r.GetString(1), Owner: r.GetString(2), Options: r.GetFieldValue<string[]>(3), Comment: r.IsDBNull(4) ? null : r.GetString(4),
                Kind: r.GetString(5), HasAcl: r.GetBoolean(6), Inherits: r.GetBoolean(7), Rls: r.GetBoolean(8)), ct, schema, name).ConfigureAwait(false);
        if (head.Count == 0)
        {
            throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"{schema}.{name}: the table does not exist; -Online refreshes tables that exist (import without -Online into a fresh database).", $"{schema}.{name}");
        }

        var t = head[0];
        if (t.Kind != "r" || t.Inherits || t.Rls)
        {
            string what = t.Kind == "p" ? "is partitioned" : t.Kind != "r" ? $"is not a plain table (relkind {t.Kind})" : t.Inherits ? "has inheritance parents or children" : "has row-level security policies";
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"{schema}.{name} {what}: -Online cannot copy it into a staging generation; nothing was loaded.", $"{schema}.{name}");
        }

        var grants = await ListAsync(c, $"SELECT x.g FROM pg_class t, LATERAL ({GrantsOf("t.relacl", "TABLE")}) x(g) WHERE t.oid = $1 AND t.relacl IS NOT NULL", r => r.GetString(0), ct, t.Oid).ConfigureAwait(false);
        var columnGrants = await ListAsync(c, $"""
            SELECT x.g FROM pg_attribute att, LATERAL ({GrantsOf("att.attacl", "TABLE", "att.attname")}) x(g)
            WHERE att.attrelid = $1 AND att.attnum > 0 AND NOT att.attisdropped AND att.attacl IS NOT NULL
            """, r => r.GetString(0), ct, t.Oid).ConfigureAwait(false);

        var indexes = await ListAsync(c, """
            SELECT ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE i.indrelid = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
            ORDER BY ic.relname
            """, r => new DefinedObject(r.GetString(0), "index", r.GetString(1), true), ct, t.Oid).ConfigureAwait(false);
        var constraints = await ListAsync(c, """
            SELECT k.conname, k.contype::text, pg_get_constraintdef(k.oid), k.convalidated,
                   (SELECT n.nspname || '.' || rc.relname FROM pg_class rc JOIN pg_namespace n ON n.oid = rc.relnamespace WHERE rc.oid = k.confrelid)
            FROM pg_constraint k WHERE k.conrelid = $1 AND k.contype IN ('p', 'u', 'x', 'c', 'f')
            ORDER BY CASE k.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3 ELSE 4 END, k.conname
            """, r => new DefinedObject(r.GetString(0), r.GetString(1), r.GetString(2), r.GetBoolean(3), r.IsDBNull(4) ? null : r.GetString(4)), ct, t.Oid).ConfigureAwait(false);
        var triggers = await ListAsync(c, """
            SELECT tgname, pg_get_triggerdef(oid), tgenabled = 'D' FROM pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal ORDER BY tgname
            """, r => new DefinedObject(r.GetString(0), "trigger", r.GetString(1), true, null, r.GetBoolean(2)), ct, t.Oid).ConfigureAwait(false);

        // Sequences a serial column owns (identity columns get theirs from LIKE ... INCLUDING IDENTITY).
        var owned = await ListAsync(c, """
            SELECT a.attname, s.relname, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache, q.seqcycle, pg_get_userbyid(s.relowner), s.oid
            FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_sequence q ON q.seqrelid = s.oid
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = $1 AND d.deptype = 'a' AND a.attidentity = ''
            ORDER BY a.attnum
            """, r => (Seq: new OwnedSequence(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.GetBoolean(8), r.GetString(9), Array.Empty<string>()), Oid: r.GetFieldValue<uint>(10)), ct, t.Oid).ConfigureAwait(false);
        var sequences = new List<OwnedSequence>();
        foreach (var (seq, oid) in owned)
        {
            var seqGrants = await ListAsync(c, $"SELECT x.g FROM pg_class t, LATERAL ({GrantsOf("t.relacl", "SEQUENCE")}) x(g) WHERE t.oid = $1 AND t.relacl IS NOT NULL", r => r.GetString(0), ct, oid).ConfigureAwait(false);
            sequences.Add(seq with { Grants = seqGrants });
        }

        var sequenceColumns = await ListAsync(c, """
            SELECT a.attname FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
              AND (a.attidentity <> '' OR pg_get_serial_sequence(format('%I.%I', $2::text, $3::text), a.attname) IS NOT NULL) ORDER BY a.attnum
            """, r => r.GetString(0), ct, t.Oid, schema, name).ConfigureAwait(false);

        return new LiveTable(schema, name, $"{Q(schema)}.{Q(name)}", t.Owner, t.Options, t.Comment, grants.Concat(columnGrants).ToList(),
            indexes, constraints.Where(k => k.Kind != "f").ToList(), constraints.Where(k => k.Kind == "f").ToList(), triggers, sequences, sequenceColumns) { DefName = t.Def };
    }

    /// <summary>What names the tables: read before anything is loaded.</summary>
    public static async Task<Dependents> DependentsAsync(NpgsqlConnection c, IReadOnlyList<string> tables, CancellationToken ct)
    {
        var names = tables.ToArray();
        const string Oids = "SELECT to_regclass(t)::oid FROM unnest($1::text[]) t";
        // What the swap alters (renames, CREATE OR REPLACE VIEW, ALTER TABLE of the referencing tables) needs its owner's
        // rights: each query below also gives the owner of what it lists when the importing role may not act as it.
        static string NotMine(string owner) => $"CASE WHEN pg_has_role(current_user, {owner}, 'USAGE') THEN NULL ELSE pg_get_userbyid({owner})::text END";
        var swapped = await ListAsync(c, $"""
            SELECT format('%I.%I', n.nspname, t.relname), {NotMine("t.relowner")}, current_user::text
            FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace WHERE t.oid IN ({Oids})
            """, r => (Sql: r.GetString(0), NotMine: r.IsDBNull(1) ? null : r.GetString(1), Role: r.GetString(2)), ct, (object)names).ConfigureAwait(false);
        var bound = await ListAsync(c, $"""
            SELECT DISTINCT v.oid, v.relkind::text, vn.nspname || '.' || v.relname, format('%I.%I', vn.nspname, v.relname), {NotMine("v.relowner")}
            FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid JOIN pg_class v ON v.oid = w.ev_class JOIN pg_namespace vn ON vn.oid = v.relnamespace
            WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid IN ({Oids}) AND v.oid <> d.refobjid
            ORDER BY 3
            """, r => (Oid: r.GetFieldValue<uint>(0), Kind: r.GetString(1), Name: r.GetString(2), Sql: r.GetString(3), NotMine: r.IsDBNull(4) ? null : r.GetString(4)), ct, (object)names).ConfigureAwait(false);
        var views = bound.Where(v => v.Kind != "v").Select(v => $"{v.Sql} ({(v.Kind == "m" ? "materialized view" : $"relkind {v.Kind}")})").ToList();
        var plain = bound.Where(v => v.Kind == "v").Select(v => new DependentView(v.Oid, v.Name, v.Sql)).ToList();
        var atomic = await ListAsync(c, $"""
            SELECT DISTINCT p.oid::regprocedure::text FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
            WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid IN ({Oids}) ORDER BY 1
            """, r => r.GetString(0), ct, (object)names).ConfigureAwait(false);
        var byName = await ListAsync(c, """
            SELECT DISTINCT p.oid::regprocedure::text || ' (' || l.lanname || ')' FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND l.lanname NOT IN ('c', 'internal') AND p.prosqlbody IS NULL
              AND EXISTS (SELECT 1 FROM unnest($1::text[]) t JOIN pg_class rc ON rc.oid = to_regclass(t) WHERE p.prosrc ILIKE '%' || rc.relname || '%')
            ORDER BY 1
            """, r => r.GetString(0), ct, (object)names).ConfigureAwait(false);
        var outside = await ListAsync(c, $"""
            SELECT n.nspname || '.' || rc.relname, format('%I.%I', n.nspname, rc.relname), k.conname, pg_get_constraintdef(k.oid), k.convalidated,
                   (SELECT fn.nspname || '.' || f.relname FROM pg_class f JOIN pg_namespace fn ON fn.oid = f.relnamespace WHERE f.oid = k.confrelid),
                   {NotMine("rc.relowner")}, quote_ident(k.conname)
            FROM pg_constraint k JOIN pg_class rc ON rc.oid = k.conrelid JOIN pg_namespace n ON n.oid = rc.relnamespace
            WHERE k.contype = 'f' AND k.confrelid IN ({Oids}) AND k.conrelid NOT IN ({Oids})
            ORDER BY 1, 3
            """, r => (Key: new OutsideForeignKey(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetBoolean(4), r.GetString(5)), NotMine: r.IsDBNull(6) ? null : r.GetString(6), Quoted: r.GetString(7)), ct, (object)names).ConfigureAwait(false);
        var fks = outside.Select(f => f.Key).ToList();
        // Other objects bound to the tables' OIDs that a swap would leave on the old generation.
        var unsupported = await ListAsync(c, $"""
            SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d
            WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid IN ({Oids}) AND d.deptype = 'n'
              AND d.classid IN ('pg_policy'::regclass, 'pg_publication_rel'::regclass)
            ORDER BY 1
            """, r => r.GetString(0), ct, (object)names).ConfigureAwait(false);
        var notOwned = swapped.Where(t => t.NotMine is not null).Select(t => $"table {t.Sql} (owner {t.NotMine})")
            .Concat(bound.Where(v => v.Kind == "v" && v.NotMine is not null).Select(v => $"view {v.Sql} (owner {v.NotMine})"))
            .Concat(outside.Where(f => f.NotMine is not null).Select(f => $"table {f.Key.TableSql}, whose foreign key {f.Quoted} is re-pointed, (owner {f.NotMine})"))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        return new Dependents(views, atomic, byName, fks, unsupported) { PlainViews = plain, NotOwned = notOwned, Role = swapped.Count > 0 ? swapped[0].Role : string.Empty };
    }

    private static string Q(string s) => Sql.QualifiedName.QuoteIdentifier(s);
}
