using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Schema.Tolerance;

/// <summary>A statement about a trigger that was skipped earlier (its comment, enabling or disabling it).</summary>
internal sealed class SkippedTriggerReference : ITolerance
{
    public string SqlState => PostgresErrorCodes.UndefinedObject;

    public bool Applies(StatementShape shape) => TriggerReference(shape) is not null;

    public Task<string?> ReasonAsync(ToleranceContext context, SqlStatement statement, StatementShape shape, CancellationToken ct)
    {
        var trigger = TriggerReference(shape)!.Value;
        return Task.FromResult(context.SkippedTriggers.TryGetValue(trigger, out int line)
            ? $"trigger {trigger.Trigger} on {trigger.Table} was skipped (line {line})"
            : null);
    }

    // COMMENT ON TRIGGER name ON table IS ... | ALTER TABLE table {ENABLE|DISABLE} [ALWAYS|REPLICA] TRIGGER name
    internal static (string Table, string Trigger)? TriggerReference(StatementShape s)
    {
        if (s.WordsAt(0, "COMMENT", "ON", "TRIGGER") && s.Identifier(3) is { } name && s.Word(4) == "ON" && s.Name(5, out _) is { } table)
        {
            return (table.WithDefaultSchema(), name);
        }

        if (s.WordsAt(0, "ALTER", "TABLE"))
        {
            int i = s.WordsAt(2, "IF", "EXISTS") ? 4 : 2;
            i = s.Skip(i, "ONLY");
            var altered = s.Name(i, out _);
            int trig = s.Find(i, "TRIGGER");
            if (altered is not null && trig > 0 && s.Word(trig - 1) is "ENABLE" or "DISABLE" or "ALWAYS" or "REPLICA" && s.Identifier(trig + 1) is { } t)
            {
                return (altered.WithDefaultSchema(), t);
            }
        }

        return null;
    }
}
