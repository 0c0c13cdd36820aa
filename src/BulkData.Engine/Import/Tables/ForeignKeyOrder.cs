using Npgsql;

namespace BulkData.Engine.Import.Tables;

/// <summary>The order in which tables with foreign keys between them can be loaded one at a time: parents first.</summary>
internal static class ForeignKeyOrder
{
    /// <summary>
    /// Orders <paramref name="tables"/> so that each comes after the tables of the set it references
    /// (<paramref name="references"/>: child to parent, schema-qualified). References to tables outside the set and
    /// a table's references to itself do not constrain; a cycle is broken at the first table left, in input order.
    /// Tables that are ready together keep their input order.
    /// </summary>
    public static IReadOnlyList<string> Order(IReadOnlyList<string> tables, IEnumerable<(string Child, string Parent)> references)
    {
        var set = new HashSet<string>(tables, StringComparer.OrdinalIgnoreCase);
        var parents = tables.ToDictionary(t => t, _ => new HashSet<string>(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        foreach (var (child, parent) in references)
        {
            if (parents.TryGetValue(child, out var of) && set.Contains(parent) && !child.Equals(parent, StringComparison.OrdinalIgnoreCase))
            {
                of.Add(parent);
            }
        }

        var ordered = new List<string>();
        var done = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var remaining = tables.ToList();
        while (remaining.Count > 0)
        {
            var ready = remaining.Where(t => parents[t].All(done.Contains)).ToList();
            if (ready.Count == 0)
            {
                ready = remaining.Take(1).ToList(); // a cycle: break it
            }

            foreach (var t in ready)
            {
                ordered.Add(t);
                done.Add(t);
                remaining.Remove(t);
            }
        }

        return ordered;
    }

    /// <summary>The foreign keys between different tables of the database, child to parent, schema-qualified.</summary>
    public static async Task<IReadOnlyList<(string Child, string Parent)>> ReadAsync(NpgsqlConnection c, CancellationToken ct)
    {
        var edges = new List<(string Child, string Parent)>();
        await using var cmd = new NpgsqlCommand("SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid", c);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            edges.Add((Normalize(r.GetString(0)), Normalize(r.GetString(1))));
        }

        return edges;

        static string Normalize(string regclass) => regclass.Contains('.') ? regclass.Replace("\"", "") : "public." + regclass.Replace("\"", "");
    }
}
