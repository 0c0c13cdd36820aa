using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>One statement that builds part of a staging table after its load (an index, a key, a trigger, ...).</summary>
internal sealed record BuildStep(string Table, string Name, string Kind, string Sql, string? ValidateSql = null);

/// <summary>
/// The staging copy of a live table: made before the load from the live definition (columns, defaults, identity,
/// generated columns, storage, statistics, comments by LIKE; serial sequences made anew and owned by the copy;
/// owner, grants, options, the table's comment), and after the load its indexes, keys, checks, foreign keys
/// (NOT VALID, validated afterwards) and triggers, with the live names. Foreign keys to a table of the dump
/// point at its staging copy, to any other table at the live one.
/// </summary>
internal static class StagingCopy
{
    private static string Q(string s) => Sql.QualifiedName.QuoteIdentifier(s);

    public static string StagingSql(string stagingSchema, LiveTable t) => $"{Q(stagingSchema)}.{Q(t.Name)}";

    /// <summary>The definition text with the table's name replaced by its staging copy's (the first " ON &lt;table&gt; ").</summary>
    internal static string Retarget(string definition, string from, string to)
    {
        string key = $" ON {from} ";
        int at = definition.IndexOf(key, StringComparison.Ordinal);
        if (at < 0)
        {
            key = $" ON ONLY {from} ";
            at = definition.IndexOf(key, StringComparison.Ordinal);
        }

        if (at < 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"Cannot find the table {from} in the definition \"{definition}\".", from);
        }

        return definition[..at] + key.Replace(from, to, StringComparison.Ordinal) + definition[(at + key.Length)..];
    }

    /// <summary>The statements that make the empty staging table (one transaction).</summary>
    public static IReadOnlyList<string> CreateSql(string stagingSchema, LiveTable t)
    {
        string s = StagingSql(stagingSchema, t);
        var list = new List<string>
        {
            $"DROP TABLE IF EXISTS {s} CASCADE",
            $"CREATE TABLE {s} (LIKE {t.Sql} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS INCLUDING STATISTICS)",
        };
        foreach (var seq in t.Sequences)
        {
            string seqSql = $"{Q(stagingSchema)}.{Q(seq.Name)}";
            list.Add($"DROP SEQUENCE IF EXISTS {seqSql}");
            list.Add($"CREATE SEQUENCE {seqSql} AS {seq.Type} INCREMENT BY {seq.Increment} MINVALUE {seq.Min} MAXVALUE {seq.Max} START WITH {seq.Start} CACHE {seq.Cache}{(seq.Cycle ? " CYCLE" : "")} OWNED BY {s}.{Q(seq.Column)}");
            list.Add($"ALTER TABLE {s} ALTER COLUMN {Q(seq.Column)} SET DEFAULT nextval('{seqSql.Replace("'", "''")}'::regclass)");
        }

        list.Add($"ALTER TABLE {s} OWNER TO {Q(t.Owner)}");
        foreach (var seq in t.Sequences)
        {
            string seqSql = $"{Q(stagingSchema)}.{Q(seq.Name)}";
            if (seq.Owner != t.Owner)
            {
                list.Add($"ALTER SEQUENCE {seqSql} OWNER TO {Q(seq.Owner)}");
            }

            list.AddRange(seq.Grants.Select(g => g.Replace("{0}", seqSql)));
        }

        list.AddRange(t.Grants.Select(g => g.Replace("{0}", s)));
        if (t.Options.Length > 0)
        {
            list.Add($"ALTER TABLE {s} SET ({string.Join(", ", t.Options)})");
        }

        if (t.Comment is not null)
        {
            list.Add($"COMMENT ON TABLE {s} IS '{t.Comment.Replace("'", "''")}'");
        }

        return list;
    }

    /// <summary>
    /// Build steps in three waves: indexes, keys and checks (in parallel); foreign keys NOT VALID; their
    /// validations (in parallel) and triggers. <paramref name="inDump"/> maps a live table (schema.name) to its
    /// staging SQL name, for foreign keys between tables of the dump.
    /// </summary>
    public static (List<BuildStep> First, List<BuildStep> Keys, List<BuildStep> Last) BuildSteps(string stagingSchema, LiveTable t, IReadOnlyDictionary<string, (string DefName, string StagingSql)> inDump)
    {
        string s = StagingSql(stagingSchema, t);
        var first = new List<BuildStep>();
        foreach (var i in t.Indexes)
        {
            first.Add(new BuildStep(t.Qualified, i.Name, "index", Retarget(i.Definition, t.DefName, s)));
        }

        foreach (var k in t.Keys)
        {
            first.Add(new BuildStep(t.Qualified, k.Name, k.Kind == "c" ? "check" : "key", $"ALTER TABLE {s} ADD CONSTRAINT {Q(k.Name)} {k.Definition}{(k.Kind == "c" && !k.Validated ? " NOT VALID" : "")}"));
        }

        var keys = new List<BuildStep>();
        var last = new List<BuildStep>();
        foreach (var f in t.ForeignKeys)
        {
            string def = f.Definition;
            if (f.References is not null && inDump.TryGetValue(f.References, out var parent))
            {
                def = def.Replace($"REFERENCES {parent.DefName}(", $"REFERENCES {parent.StagingSql}(", StringComparison.Ordinal);
            }

            keys.Add(new BuildStep(t.Qualified, f.Name, "foreign key", $"ALTER TABLE {s} ADD CONSTRAINT {Q(f.Name)} {def} NOT VALID",
                f.Validated ? $"ALTER TABLE {s} VALIDATE CONSTRAINT {Q(f.Name)}" : null));
        }

        foreach (var tr in t.Triggers)
        {
            last.Add(new BuildStep(t.Qualified, tr.Name, "trigger", Retarget(tr.Definition, t.DefName, s)));
            if (tr.Disabled)
            {
                last.Add(new BuildStep(t.Qualified, tr.Name, "trigger state", $"ALTER TABLE {s} DISABLE TRIGGER {Q(tr.Name)}"));
            }
        }

        return (first, keys, last);
    }

    /// <summary>Whether a step's object already exists on the staging table (a resumed build skips it).</summary>
    public static async Task<bool> ExistsAsync(NpgsqlConnection c, string stagingSchema, BuildStep step, CancellationToken ct)
    {
        string sql = step.Kind switch
        {
            "index" => "SELECT 1 FROM pg_class WHERE relnamespace = to_regnamespace($1) AND relname = $3",
            "trigger" => "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND tgname = $3",
            "trigger state" => "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND tgname = $3 AND tgenabled = 'D'",
            _ => "SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND conname = $3",
        };
        await using var cmd = new NpgsqlCommand(sql, c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = stagingSchema });
        cmd.Parameters.Add(new NpgsqlParameter { Value = step.Table[(step.Table.IndexOf('.') + 1)..] });
        cmd.Parameters.Add(new NpgsqlParameter { Value = step.Name });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
    }

    /// <summary>Whether a foreign key of the staging table is validated already.</summary>
    public static async Task<bool> ValidatedAsync(NpgsqlConnection c, string stagingSchema, BuildStep step, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT convalidated FROM pg_constraint WHERE conrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND conname = $3", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = stagingSchema });
        cmd.Parameters.Add(new NpgsqlParameter { Value = step.Table[(step.Table.IndexOf('.') + 1)..] });
        cmd.Parameters.Add(new NpgsqlParameter { Value = step.Name });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is true;
    }
}
