using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Schema.Tolerance;

/// <summary>
/// One kind of failure a real dump meets on another server, and may be skipped with a warning. A rule looks at
/// failures of one SQLSTATE; the first rule of that SQLSTATE whose shape <see cref="Applies"/> to the statement
/// decides: its reason, or null when the failure is an error after all.
/// </summary>
internal interface ITolerance
{
    string SqlState { get; }

    /// <summary>Whether the statement has the shape this rule is about (pure: no database work).</summary>
    bool Applies(StatementShape shape);

    /// <summary>The reason the failure is tolerated, or null when it is an error.</summary>
    Task<string?> ReasonAsync(ToleranceContext context, SqlStatement statement, StatementShape shape, CancellationToken ct);
}

/// <summary>What the rules share over one schema load: the connection, and the triggers skipped so far.</summary>
internal sealed class ToleranceContext
{
    public ToleranceContext(NpgsqlConnection connection, Dictionary<(string Table, string Trigger), int> skippedTriggers)
    {
        Connection = connection;
        SkippedTriggers = skippedTriggers;
    }

    public NpgsqlConnection Connection { get; }

    /// <summary>Triggers skipped because their function is missing: (table, trigger) to the line of the CREATE TRIGGER.</summary>
    public Dictionary<(string Table, string Trigger), int> SkippedTriggers { get; }

    public async Task<T> ScalarAsync<T>(string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, Connection);
        foreach (var a in args)
        {
            cmd.Parameters.Add(a is DBNull ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } : new NpgsqlParameter { Value = a });
        }

        return (T)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}

/// <summary>The rules, in the order they are asked.</summary>
internal static class ToleranceRules
{
    public static readonly IReadOnlyList<ITolerance> All = new ITolerance[]
    {
        new UnknownSetting(), new MissingRole(), new SkippedTriggerReference(), new MissingTriggerFunction(), new ForeignKeyToMissingTable(),
    };

    /// <summary>The reason a failure of <paramref name="sqlState"/> is tolerated, or null when it is an error.</summary>
    public static async Task<string?> ReasonAsync(ToleranceContext context, SqlStatement statement, StatementShape shape, string sqlState, CancellationToken ct)
    {
        foreach (var rule in All)
        {
            if (rule.SqlState == sqlState && rule.Applies(shape))
            {
                return await rule.ReasonAsync(context, statement, shape, ct).ConfigureAwait(false);
            }
        }

        return null;
    }

    /// <summary>
    /// As <see cref="ReasonAsync"/>, with the kind the summary counts it under: the reason itself where it names
    /// no single object (a role, a setting), else the rule's own words ("trigger function is not in the dump").
    /// </summary>
    public static async Task<(string Reason, string Kind)?> ToleranceAsync(ToleranceContext context, SqlStatement statement, StatementShape shape, string sqlState, CancellationToken ct)
    {
        foreach (var rule in All)
        {
            if (rule.SqlState == sqlState && rule.Applies(shape))
            {
                string? reason = await rule.ReasonAsync(context, statement, shape, ct).ConfigureAwait(false);
                return reason is null ? null : (reason, KindOf(rule, reason));
            }
        }

        return null;
    }

    private static string KindOf(ITolerance rule, string reason) => rule switch
    {
        MissingTriggerFunction => "trigger function is not in the dump",
        SkippedTriggerReference => "refers to a trigger that was skipped",
        ForeignKeyToMissingTable => "foreign key to a table that is not in the dump",
        _ => reason,
    };
}
