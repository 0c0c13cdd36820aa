using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Schema.Tolerance;

/// <summary>A trigger whose function is not in the dump (the publisher's triggers call functions it does not export).</summary>
internal sealed class MissingTriggerFunction : ITolerance
{
    public string SqlState => PostgresErrorCodes.UndefinedFunction;

    public bool Applies(StatementShape shape) => CreateTrigger(shape) is not null;

    public async Task<string?> ReasonAsync(ToleranceContext context, SqlStatement statement, StatementShape shape, CancellationToken ct)
    {
        var created = CreateTrigger(shape)!;
        bool exists = await context.ScalarAsync<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1 AND ($2::text IS NULL OR n.nspname = $2))",
            ct,
            created.Function.Name,
            (object?)created.Function.Schema ?? DBNull.Value).ConfigureAwait(false);
        if (exists)
        {
            return null;
        }

        context.SkippedTriggers[(created.Table, created.Trigger)] = statement.Line;
        return $"trigger function {created.Function}() is not in the dump";
    }

    internal sealed record TriggerDefinition(string Trigger, string Table, QualifiedName Function);

    // CREATE [OR REPLACE] [CONSTRAINT] TRIGGER name ... ON table ... EXECUTE {FUNCTION|PROCEDURE} fn(...)
    internal static TriggerDefinition? CreateTrigger(StatementShape s)
    {
        if (s.Word(0) != "CREATE")
        {
            return null;
        }

        int i = s.Skip(1, "OR", "REPLACE", "CONSTRAINT");
        if (s.Word(i) != "TRIGGER" || s.Identifier(i + 1) is not { } name)
        {
            return null;
        }

        int on = s.Find(i + 2, "ON");
        int exec = s.Find(i + 2, "EXECUTE");
        if (on < 0 || exec < 0 || s.Word(exec + 1) is not ("FUNCTION" or "PROCEDURE"))
        {
            return null;
        }

        var table = s.Name(on + 1, out _);
        var function = s.Name(exec + 2, out _);
        return table is null || function is null ? null : new TriggerDefinition(name, table.WithDefaultSchema(), function);
    }
}
