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
/// after the jobs in <see cref="DependsOn"/>. <see cref="Table"/> is the table it works on (qualified), so a
/// scheduler can start a table's jobs once its data is in.
/// </summary>
internal sealed record PostDataJob(string Id, PostDataJobKind Kind, string? Table, string? Constraint, string? References, SqlStatement Statement, IReadOnlyList<string> DependsOn)
{
    public override string ToString() => $"{Id} {Kind} {Table} {Constraint}".TrimEnd();
}

/// <summary>
/// The post-data of a schema script as a list of jobs with dependencies, in an order that satisfies them (the
/// order they run in serially): every statement in script order, each foreign key made <c>NOT VALID</c> and
/// after the indexes and keys of the table it references, then one validation per foreign key. A job's
/// <see cref="PostDataJob.Id"/> is the statement's line in the script (with <c>:validate</c> for a validation):
/// the same script gives the same ids, so a re-run finds in the journal what is done.
/// </summary>
internal static class PostDataJobs
{
    public static IReadOnlyList<PostDataJob> Build(IReadOnlyList<SqlStatement> postData)
    {
        ArgumentNullException.ThrowIfNull(postData);
        var jobs = new List<PostDataJob>();
        var validations = new List<PostDataJob>();
        var keysByTable = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
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

            var deps = new List<string>();
            if (ForeignKeyToMissingTable.ForeignKey(shape) is { } fk && SingleAction(shape))
            {
                string table = fk.Table.WithDefaultSchema();
                string references = fk.Referenced.WithDefaultSchema();
                if (keysByTable.TryGetValue(references, out var keys))
                {
                    deps.AddRange(keys);
                }

                if (lastOther is not null)
                {
                    deps.Add(lastOther);
                }

                bool alreadyNotValid = FindSequence(shape, "NOT", "VALID") >= 0;
                var text = alreadyNotValid ? statement : statement with { Text = statement.Text.TrimEnd().TrimEnd(';').TrimEnd() + " NOT VALID" };
                jobs.Add(new PostDataJob(id, PostDataJobKind.ForeignKey, table, fk.Constraint, references, text, deps));
                if (!alreadyNotValid && fk.Constraint != "(unnamed)")
                {
                    var validate = new SqlStatement($"ALTER TABLE {fk.Table.Sql} VALIDATE CONSTRAINT {QualifiedName.QuoteIdentifier(fk.Constraint)}", statement.Line, StatementKind.Sql);
                    validations.Add(new PostDataJob(id + ":validate", PostDataJobKind.Validate, table, fk.Constraint, references, validate, new[] { id }));
                }

                continue;
            }

            if (lastOther is not null)
            {
                deps.Add(lastOther);
            }

            var (kind, on) = Classify(shape);
            jobs.Add(new PostDataJob(id, kind, on, null, null, statement, deps));
            if (kind is PostDataJobKind.Index or PostDataJobKind.Key && on is not null)
            {
                if (!keysByTable.TryGetValue(on, out var list))
                {
                    keysByTable[on] = list = new List<string>();
                }

                list.Add(id);
            }
            else
            {
                // Other statements keep their script order among themselves (a comment after its object, a
                // trigger after its function); indexes and keys need only their table, which pre-data made.
                lastOther = id;
            }
        }

        return jobs.Concat(validations).ToList();
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
