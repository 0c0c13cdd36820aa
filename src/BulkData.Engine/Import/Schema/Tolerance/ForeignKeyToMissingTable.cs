using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Schema.Tolerance;

/// <summary>A foreign key to a table that is not in the dump (the publisher exports a subset of the tables).</summary>
internal sealed class ForeignKeyToMissingTable : ITolerance
{
    public string SqlState => PostgresErrorCodes.UndefinedTable;

    public bool Applies(StatementShape shape) => ForeignKey(shape) is not null;

    public async Task<string?> ReasonAsync(ToleranceContext context, SqlStatement statement, StatementShape shape, CancellationToken ct)
    {
        var fk = ForeignKey(shape)!;
        bool referencedExists = await context.ScalarAsync<bool>("SELECT to_regclass($1) IS NOT NULL", ct, fk.Referenced.Sql).ConfigureAwait(false);
        bool tableExists = await context.ScalarAsync<bool>("SELECT to_regclass($1) IS NOT NULL", ct, fk.Table.Sql).ConfigureAwait(false);
        return !referencedExists && tableExists
            ? $"foreign key {fk.Constraint} references {fk.Referenced}, a table that is not in the dump"
            : null;
    }

    internal sealed record ForeignKeyDefinition(QualifiedName Table, string Constraint, QualifiedName Referenced);

    // ALTER TABLE [IF EXISTS] [ONLY] table ADD [CONSTRAINT name] FOREIGN KEY (...) REFERENCES target ...
    internal static ForeignKeyDefinition? ForeignKey(StatementShape s)
    {
        if (!s.WordsAt(0, "ALTER", "TABLE"))
        {
            return null;
        }

        int i = s.WordsAt(2, "IF", "EXISTS") ? 4 : 2;
        i = s.Skip(i, "ONLY");
        var table = s.Name(i, out int next);
        int fk = s.Find(next, "FOREIGN", "KEY");
        int references = s.Find(next, "REFERENCES");
        if (table is null || fk < 0 || references < fk)
        {
            return null;
        }

        int constraint = s.Find(next, "ADD", "CONSTRAINT");
        string name = constraint >= 0 && s.Identifier(constraint + 2) is { } n ? n : "(unnamed)";
        var referenced = s.Name(references + 1, out _);
        return referenced is null ? null : new ForeignKeyDefinition(table, name, referenced);
    }
}
