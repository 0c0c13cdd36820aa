using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Schema.Tolerance;

/// <summary>A setting this server does not know (a newer server's dump): <c>SET</c>, <c>RESET</c>, <c>set_config</c>.</summary>
internal sealed class UnknownSetting : ITolerance
{
    public string SqlState => PostgresErrorCodes.UndefinedObject;

    public bool Applies(StatementShape shape) => SettingName(shape) is not null;

    public async Task<string?> ReasonAsync(ToleranceContext context, SqlStatement statement, StatementShape shape, CancellationToken ct)
    {
        string setting = SettingName(shape)!;
        bool known = await context.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_settings WHERE name = lower($1))", ct, setting).ConfigureAwait(false);
        return known ? null : $"setting {setting} is unknown to this server (PostgreSQL {context.Connection.PostgreSqlVersion})";
    }

    // SET [SESSION|LOCAL] name ... | RESET name | SELECT [pg_catalog.]set_config('name', ...)
    internal static string? SettingName(StatementShape s)
    {
        switch (s.Word(0))
        {
            case "SET" or "RESET":
            {
                int i = s.Skip(1, "SESSION", "LOCAL");
                var name = s.Name(i, out _);
                return name?.ToString();
            }

            case "SELECT":
            {
                int i = s.WordsAt(1, "PG_CATALOG") && s.IsSymbol(2, '.') ? 3 : 1;
                if (s.Word(i) == "SET_CONFIG" && s.IsSymbol(i + 1, '(') && i + 2 < s.Count && s.Tokens[i + 2].Kind == SqlTokenKind.String)
                {
                    return s.TextOf(i + 2).Trim('\'');
                }

                return null;
            }

            default:
                return null;
        }
    }
}
