using BulkData.Engine.Import.Schema.Tolerance;
using BulkData.Engine.Import.Sql;

namespace BulkData.Engine.Import.Schema;

/// <summary>What a post-data job builds.</summary>
internal enum PostDataJobKind
{
    /// <summary>CREATE [UNIQUE] INDEX.</summary>
    Index,

    /// <summary>ALTER TABLE ... ADD a primary key, unique or exclusion constraint (the keys foreign keys need).</summary>
    Key,

    /// <summary>ALTER TABLE ... ADD ... FOREIGN KEY, run NOT VALID (it guards new rows at once, checks nothing old).</summary>
    ForeignKey,

    /// <summary>ALTER TABLE ... VALIDATE CONSTRAINT of a foreign key added NOT VALID: the check of the loaded rows.</summary>
    Validate,

    /// <summary>Anything else of post-data (triggers, sequence positions, comments, grants, checks), in script order.</summary>
    Other,
}

/// <summary>
/// One step of post-data: one statement, its own transaction and its own journal row (<see cref="Id"/>), run
/// after the jobs in <see cref="DependsOn"/>. <see cref="Table"/> is the table it works on (qualified) and
/// <see cref="References"/> the one a foreign key points to: a scheduler starts the job once their data is in.
/// <see cref="Serial"/> jobs (<see cref="PostDataJobKind.Other"/>, and what depends on one) are not proven safe to
/// run beside others: they run one at a time, in list order, after every other job and every table load.
/// </summary>
internal sealed record PostDataJob(string Id, PostDataJobKind Kind, string? Table, string? Constraint, string? References, SqlStatement Statement, IReadOnlyList<string> DependsOn)
{
    /// <summary>Runs alone, in list order, after all parallel jobs (see the type's summary).</summary>
    public bool Serial { get; init; } = Kind == PostDataJobKind.Other;

    /// <summary>The tables whose data must be committed before the job starts (none for a serial job: it runs after every load).</summary>
    public IEnumerable<string> Tables
    {
        get
        {
            if (Table is not null)
            {
                yield return Table;
            }

            if (References is not null && !string.Equals(References, Table, StringComparison.OrdinalIgnoreCase))
            {
                yield return References;
            }
        }
    }

    public override string ToString() => $"{Id} {Kind} {Table} {Constraint}".TrimEnd();
}

/// <summary>
/// The post-data of a schema script as a list of jobs with dependencies, in an order that satisfies them (the
/// order they run in serially): every statement in script order, each foreign key made <c>NOT VALID</c>, then one
/// validation per foreign key. Dependencies come from the statements: an index or key needs only its table's data
/// (a key built <c>USING INDEX</c> also the table's indexes before it); a foreign key needs every index and key of
/// both its tables (the unique key it points to, and no lock conflict with their builds); a validation needs its
/// foreign key; every other statement (triggers, comments, ownership, anything not recognised) is serial, after
/// the previous one. A foreign key that follows an unrecognised statement altering one of its tables is serial too.
/// A job's <see cref="PostDataJob.Id"/> is the statement's line in the script (with <c>:validate</c> for a
/// validation): the same script gives the same ids, so a re-run finds in the journal what is done.
/// </summary>
internal static class PostDataJobs
{
    public static IReadOnlyList<PostDataJob> Build(IReadOnlyList<SqlStatement> postData)
    {
        ArgumentNullException.ThrowIfNull(postData);
        var jobs = new List<PostDataJob>();
        var validations = new List<PostDataJob>();
        var keysByTable = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        var alteredByOther = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        string? lastOther = null;
        foreach (var statement in postData.Where(s => s.Kind == StatementKind.Sql))
        {
            var shape = new StatementShape(statement.Text);
            string id = $"line {statement.Line}";
            for (int n = 2; !ids.Add(id); n++)
            {
                id = $"line {statement.Line}#{n}";
            }

            if (ForeignKeyToMissingTable.ForeignKey(shape) is { } fk && SingleAction(shape))
            {
                string table = fk.Table.WithDefaultSchema();
                string references = fk.Referenced.WithDefaultSchema();
                bool serial = alteredByOther.Contains(table) || alteredByOther.Contains(references);
                bool alreadyNotValid = FindSequence(shape, "NOT", "VALID") >= 0;
                var text = alreadyNotValid ? statement : statement with { Text = statement.Text.TrimEnd().TrimEnd(';').TrimEnd() + " NOT VALID" };
                // Its dependencies are filled in below, once every index and key of the script is known.
                var added = new PostDataJob(id, PostDataJobKind.ForeignKey, table, fk.Constraint, references, text, serial && lastOther is not null ? new[] { lastOther } : Array.Empty<string>()) { Serial = serial };
                jobs.Add(added);
                if (serial)
                {
                    lastOther = id;
                }

                if (!alreadyNotValid && fk.Constraint != "(unnamed)")
                {
                    var validate = new SqlStatement($"ALTER TABLE {fk.Table.Sql} VALIDATE CONSTRAINT {QualifiedName.QuoteIdentifier(fk.Constraint)}", statement.Line, StatementKind.Sql);
                    validations.Add(new PostDataJob(id + ":validate", PostDataJobKind.Validate, table, fk.Constraint, references, validate, new[] { id }) { Serial = serial });
                }

                continue;
            }

            var (kind, on) = Classify(shape);
            if (kind is PostDataJobKind.Index or PostDataJobKind.Key && on is not null)
            {
                if (!keysByTable.TryGetValue(on, out var list))
                {
                    keysByTable[on] = list = new List<string>();
                }

                // A key made from an existing index (USING INDEX) needs the indexes of its table before it.
                var deps = kind == PostDataJobKind.Key && shape.Find(0, "USING", "INDEX") >= 0 ? list.ToArray() : Array.Empty<string>();
                jobs.Add(new PostDataJob(id, kind, on, null, null, statement, deps));
                list.Add(id);
            }
            else
            {
                // Other statements keep their script order among themselves (a comment after its object, a
                // trigger after its function) and run after every index, key and foreign key.
                jobs.Add(new PostDataJob(id, PostDataJobKind.Other, null, null, null, statement, lastOther is null ? Array.Empty<string>() : new[] { lastOther }));
                lastOther = id;
                if (AlteredTable(shape) is { } altered)
                {
                    alteredByOther.Add(altered);
                }
            }
        }

        for (int i = 0; i < jobs.Count; i++)
        {
            var job = jobs[i];
            if (job.Kind != PostDataJobKind.ForeignKey)
            {
                continue;
            }

            var deps = new List<string>(job.DependsOn);
            foreach (string t in job.Tables)
            {
                if (keysByTable.TryGetValue(t, out var keys))
                {
                    deps.AddRange(keys);
                }
            }

            jobs[i] = job with { DependsOn = deps };
        }

        return jobs.Concat(validations).ToList();
    }

    // ALTER TABLE [IF EXISTS] [ONLY] t ...: the table an unrecognised statement changes.
    private static string? AlteredTable(StatementShape s)
    {
        if (!s.WordsAt(0, "ALTER", "TABLE"))
        {
            return null;
        }

        int i = s.WordsAt(2, "IF", "EXISTS") ? 4 : 2;
        i = s.Skip(i, "ONLY");
        return s.Name(i, out _)?.WithDefaultSchema();
    }

    // CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] table; ALTER TABLE [ONLY] t ADD CONSTRAINT c PRIMARY KEY / UNIQUE / EXCLUDE.
    private static (PostDataJobKind Kind, string? Table) Classify(StatementShape s)
    {
        if (s.Word(0) == "CREATE")
        {
            int i = s.Skip(1, "UNIQUE");
            if (s.Word(i) == "INDEX")
            {
                int on = s.Find(i + 1, "ON");
                if (on > 0)
                {
                    int t = s.Skip(on + 1, "ONLY");
                    return (PostDataJobKind.Index, s.Name(t, out _)?.WithDefaultSchema());
                }
            }

            return (PostDataJobKind.Other, null);
        }

        if (s.WordsAt(0, "ALTER", "TABLE") && SingleAction(s))
        {
            int i = s.WordsAt(2, "IF", "EXISTS") ? 4 : 2;
            i = s.Skip(i, "ONLY");
            var table = s.Name(i, out int next);
            int add = s.Find(next, "ADD", "CONSTRAINT");
            if (table is not null && add == next)
            {
                string kind = s.Word(add + 3);
                if (kind is "PRIMARY" or "UNIQUE" or "EXCLUDE")
                {
                    return (PostDataJobKind.Key, table.WithDefaultSchema());
                }
            }
        }

        return (PostDataJobKind.Other, null);
    }

    // One action (no comma outside parentheses): the statement can be split into add NOT VALID, validate.
    private static bool SingleAction(StatementShape s)
    {
        int depth = 0;
        for (int i = 0; i < s.Count; i++)
        {
            if (s.IsSymbol(i, '('))
            {
                depth++;
            }
            else if (s.IsSymbol(i, ')'))
            {
                depth--;
            }
            else if (depth == 0 && s.IsSymbol(i, ','))
            {
                return false;
            }
        }

        return true;
    }

    private static int FindSequence(StatementShape s, params string[] words) => s.Find(0, words);
}
