using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Schema.Tolerance;

/// <summary>A role the dump names (owner, grantee, grantor) that does not exist on this server.</summary>
internal sealed class MissingRole : ITolerance
{
    private static readonly HashSet<string> RoleKeywords = new(StringComparer.Ordinal)
    {
        "public", "current_user", "session_user", "current_role",
    };

    public string SqlState => PostgresErrorCodes.UndefinedObject;

    public bool Applies(StatementShape shape) => RoleNames(shape).Count > 0;

    public async Task<string?> ReasonAsync(ToleranceContext context, SqlStatement statement, StatementShape shape, CancellationToken ct)
    {
        var missing = await MissingRolesAsync(context.Connection, RoleNames(shape), ct).ConfigureAwait(false);
        if (missing.Count == 0)
        {
            return null;
        }

        return missing.Count == 1 ? $"role {missing[0]} does not exist" : $"roles {string.Join(", ", missing)} do not exist";
    }

    // The roles a statement names: ALTER ... OWNER TO r; GRANT ... TO r, ... [GRANTED BY r]; REVOKE ... FROM r, ...;
    // ALTER DEFAULT PRIVILEGES FOR ROLE r ... GRANT ... TO r.
    internal static List<string> RoleNames(StatementShape s)
    {
        var roles = new List<string>();
        string w0 = s.Word(0);
        if (w0 == "ALTER")
        {
            int owner = s.Find(1, "OWNER", "TO");
            if (owner > 0 && s.Identifier(owner + 2) is { } r)
            {
                roles.Add(r);
            }

            if (s.WordsAt(1, "DEFAULT", "PRIVILEGES"))
            {
                int forRole = s.Find(3, "FOR");
                if (forRole > 0)
                {
                    roles.AddRange(s.IdentifierList(forRole + 2, "IN", "GRANT", "REVOKE"));
                }

                int grant = s.Find(3, "GRANT");
                int revoke = s.Find(3, "REVOKE");
                if (grant > 0)
                {
                    AddGrantees(s, grant, "TO", roles);
                }
                else if (revoke > 0)
                {
                    AddGrantees(s, revoke, "FROM", roles);
                }
            }
        }
        else if (w0 == "GRANT")
        {
            AddGrantees(s, 0, "TO", roles);
        }
        else if (w0 == "REVOKE")
        {
            AddGrantees(s, 0, "FROM", roles);
        }

        roles.RemoveAll(RoleKeywords.Contains);
        return roles.Distinct().ToList();
    }

    private static void AddGrantees(StatementShape s, int from, string keyword, List<string> roles)
    {
        int at = s.Find(from + 1, keyword);
        if (at < 0)
        {
            return;
        }

        roles.AddRange(s.IdentifierList(at + 1, "WITH", "GRANTED", "CASCADE", "RESTRICT"));
        int grantedBy = s.Find(at, "GRANTED", "BY");
        if (grantedBy > 0 && s.Identifier(grantedBy + 2) is { } grantor)
        {
            roles.Add(grantor);
        }
    }

    private static async Task<List<string>> MissingRolesAsync(NpgsqlConnection conn, List<string> roles, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT r FROM unnest($1::text[]) WITH ORDINALITY AS u(r, n) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) ORDER BY n", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = roles.ToArray() });
        var missing = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            missing.Add(reader.GetString(0));
        }

        return missing;
    }
}
