using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Schema;

/// <summary>A statement that failed in a way a dump meets on another server, and was skipped.</summary>
public sealed record SchemaWarning(int Line, string Statement, string Reason);

/// <summary>What <see cref="SchemaLoader.ApplyAsync(NpgsqlConnection, IEnumerable{SqlStatement}, string, IBulkReporter, CancellationToken)"/> did: statements applied, and those skipped with their reasons.</summary>
public sealed record SchemaApplyResult(int Applied, IReadOnlyList<SchemaWarning> Skipped);

/// <summary>Whether <see cref="SchemaLoader.EnsureDatabaseAsync(string, string, SqlStatement?, string?, IBulkReporter, CancellationToken)"/> created the database, and what of its statement it skipped (the locale).</summary>
public sealed record DatabaseEnsureResult(bool Created, IReadOnlyList<SchemaWarning> Skipped);

/// <summary>
/// Runs schema statements on a server without psql. Each statement runs on its own (autocommit, or in its own
/// savepoint when a transaction is given), so one that fails does not undo or block the others. A failure is
/// tolerated only when its SQLSTATE and the statement's shape say it is one a real dump meets on another server:
/// a setting this server does not know, a role that does not exist, a trigger whose function is not in the dump
/// (and what refers to that trigger later), a foreign key to a table that is not in the dump. Anything else is
/// an error naming the file and line.
/// </summary>
public sealed class SchemaLoader
{
    /// <summary>The Write-Progress id of schema work.</summary>
    public const int ProgressActivityId = 41;

    private const string Savepoint = "bulkdata_schema_statement";

    private static readonly HashSet<string> RoleKeywords = new(StringComparer.Ordinal)
    {
        "public", "current_user", "session_user", "current_role",
    };

    private static readonly string[] LocaleOptions =
    {
        "LOCALE", "LC_COLLATE", "LC_CTYPE", "ICU_LOCALE", "ICU_RULES", "LOCALE_PROVIDER", "BUILTIN_LOCALE", "COLLATION_VERSION",
    };

    // Triggers skipped because their function is missing: (table, trigger) -> line of the CREATE TRIGGER.
    private readonly Dictionary<(string Table, string Trigger), int> _skippedTriggers = new();
    private readonly List<SchemaWarning> _warnings = new();
    private readonly HashSet<string> _skippedSettings = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every statement skipped by this loader so far, over all calls.</summary>
    public IReadOnlyList<SchemaWarning> Warnings => _warnings;

    public Task<SchemaApplyResult> ApplyAsync(NpgsqlConnection connection, IEnumerable<SqlStatement> statements, string sourceName, IBulkReporter reporter, CancellationToken ct)
        => ApplyAsync(connection, statements, sourceName, reporter, null, ct);

    /// <summary>
    /// Runs <paramref name="statements"/> in order on <paramref name="connection"/> (open). With a
    /// <paramref name="transaction"/>, each statement runs in a savepoint of it; without, each commits on its own.
    /// A setting this loader already reported as unknown (the script's <see cref="SchemaScript.Settings"/> applied
    /// again on a second connection) is skipped without a second warning and is not counted again.
    /// </summary>
    /// <exception cref="BulkDataException">A statement failed in a way that is not tolerated (DatabaseError), or a meta-command cannot be run (InvalidData).</exception>
    public async Task<SchemaApplyResult> ApplyAsync(
        NpgsqlConnection connection,
        IEnumerable<SqlStatement> statements,
        string sourceName,
        IBulkReporter reporter,
        NpgsqlTransaction? transaction,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(statements);
        reporter ??= NullReporter.Instance;
        var list = statements as IReadOnlyList<SqlStatement> ?? statements.ToList();
        var skipped = new List<SchemaWarning>();
        int applied = 0;
        string activity = $"Applying schema {Path.GetFileName(sourceName)}";
        for (int index = 0; index < list.Count; index++)
        {
            ct.ThrowIfCancellationRequested();
            var statement = list[index];
            if (statement.Kind == StatementKind.MetaCommand)
            {
                string name = statement.Text.TrimStart('\\').Split(' ', '\t')[0];
                if (!SchemaScript.IgnoredMetaCommands.Contains(name))
                {
                    throw new BulkDataException(
                        BulkErrorKind.InvalidData,
                        $"{sourceName} line {statement.Line}: the psql meta-command '{statement.Summary(80)}' cannot be run here; parse the script with SchemaScript first.",
                        sourceName);
                }

                continue;
            }

            if (index % 10 == 0)
            {
                reporter.Progress(new ProgressUpdate(ProgressActivityId, activity, $"Statement {index + 1} of {list.Count}", index * 100 / list.Count, CurrentOperation: statement.Summary(80)));
            }

            var shape = new StatementShape(statement.Text);
            if (transaction is not null)
            {
                await transaction.SaveAsync(Savepoint, ct);
            }

            try
            {
                await ExecuteAsync(connection, statement.Text, shape, ct);
                if (transaction is not null)
                {
                    await transaction.ReleaseAsync(Savepoint, ct);
                }

                applied++;
            }
            catch (PostgresException e)
            {
                if (transaction is not null)
                {
                    await transaction.RollbackAsync(Savepoint, ct);
                }

                string? reason = await ToleranceAsync(connection, statement, shape, e, ct);
                if (reason is null)
                {
                    throw Failure(sourceName, statement, e);
                }

                if (e.SqlState == PostgresErrorCodes.UndefinedObject && SettingName(shape) is { } setting && !_skippedSettings.Add(setting))
                {
                    // The same session settings re-applied on another connection: reported once per loader.
                    reporter.Verbose($"{sourceName} line {statement.Line}: skipped '{statement.Summary(120)}' again: {reason}.");
                    continue;
                }

                var warning = new SchemaWarning(statement.Line, statement.Summary(), reason);
                skipped.Add(warning);
                _warnings.Add(warning);
                reporter.Warning($"{sourceName} line {statement.Line}: skipped '{statement.Summary(120)}': {reason}.");
            }
            catch (NpgsqlException e) when (e.InnerException is not OperationCanceledException && !ct.IsCancellationRequested)
            {
                throw new BulkDataException(BulkErrorKind.DatabaseError, $"{sourceName} line {statement.Line}: the server connection failed while running '{statement.Summary(100)}': {e.Message}", sourceName, e);
            }
        }

        reporter.Progress(new ProgressUpdate(ProgressActivityId, activity, "Done", 100, Completed: true));
        reporter.Verbose($"{sourceName}: {applied} statement(s) applied, {skipped.Count} skipped.");
        return new SchemaApplyResult(applied, skipped);
    }

    /// <summary>
    /// Creates <paramref name="database"/> when it does not exist, with the dump's <c>CREATE DATABASE</c> options
    /// (retargeted to this name) when given. When the server lacks the dump's locale, creates it without the locale
    /// options and warns. Returns true when it created the database, false when it existed.
    /// </summary>
    public static async Task<bool> EnsureDatabaseAsync(string adminConnectionString, string database, string? createDatabaseStatement, IBulkReporter reporter, CancellationToken ct)
    {
        var statement = createDatabaseStatement is null ? null : new SqlStatement(createDatabaseStatement, 0, StatementKind.Sql);
        return (await EnsureDatabaseAsync(adminConnectionString, database, statement, null, reporter, ct)).Created;
    }

    /// <summary>
    /// As <see cref="EnsureDatabaseAsync(string, string, string?, IBulkReporter, CancellationToken)"/>, with the
    /// statement's file and line in the locale warning, which is also returned (to be counted with the others).
    /// </summary>
    public static async Task<DatabaseEnsureResult> EnsureDatabaseAsync(string adminConnectionString, string database, SqlStatement? createDatabaseStatement, string? sourceName, IBulkReporter reporter, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(database);
        reporter ??= NullReporter.Instance;
        var builder = new NpgsqlConnectionStringBuilder(adminConnectionString);
        if (string.IsNullOrEmpty(builder.Database))
        {
            builder.Database = "postgres";
        }

        string server = $"{builder.Host}:{builder.Port}";
        await using var conn = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await conn.OpenAsync(ct);
        }
        catch (NpgsqlException e) when (!ct.IsCancellationRequested)
        {
            throw new BulkDataException(BulkErrorKind.DatabaseError, $"Cannot connect to PostgreSQL at {server} (database {builder.Database}) to create database {database}: {e.Message}", database, e);
        }

        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", conn))
        {
            exists.Parameters.Add(new NpgsqlParameter { Value = database });
            if (await exists.ExecuteScalarAsync(ct) is not null)
            {
                reporter.Verbose($"Database {database} exists on {server}.");
                return new DatabaseEnsureResult(false, Array.Empty<SchemaWarning>());
            }
        }

        string sql = createDatabaseStatement is null
            ? $"CREATE DATABASE {QualifiedName.QuoteIdentifier(database)}"
            : SchemaScript.RetargetCreateDatabase(createDatabaseStatement.Text.Trim().TrimEnd(';'), database);
        var skipped = new List<SchemaWarning>();
        try
        {
            await ExecuteAsync(conn, sql, null, ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            return new DatabaseEnsureResult(false, skipped);
        }
        catch (PostgresException e) when (IsLocaleFailure(e, sql))
        {
            string plain = WithoutLocale(sql);
            string reason = $"its locale is not usable on this server ({e.MessageText}); database {database} is created with the server's default locale instead";
            string where = createDatabaseStatement is { Line: > 0 } ? $"{sourceName ?? "schema"} line {createDatabaseStatement.Line}: " : "";
            skipped.Add(new SchemaWarning(createDatabaseStatement?.Line ?? 0, SqlStatementSummary(sql), reason));
            reporter.Warning($"{where}skipped the locale of '{SqlStatementSummary(sql)}': {reason}.");
            try
            {
                await ExecuteAsync(conn, plain, null, ct);
            }
            catch (PostgresException e2) when (e2.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
                return new DatabaseEnsureResult(false, skipped);
            }
            catch (PostgresException e2)
            {
                throw new BulkDataException(BulkErrorKind.DatabaseError, $"Cannot create database {database} on {server}: {e2.MessageText} (SQLSTATE {e2.SqlState}).", database, e2);
            }
        }
        catch (PostgresException e)
        {
            throw new BulkDataException(BulkErrorKind.DatabaseError, $"Cannot create database {database} on {server}: {e.MessageText} (SQLSTATE {e.SqlState}).", database, e);
        }

        reporter.Verbose($"Created database {database} on {server}.");
        return new DatabaseEnsureResult(true, skipped);
    }

    private static string SqlStatementSummary(string sql) => new SqlStatement(sql, 0, StatementKind.Sql).Summary();

    /// <summary><paramref name="createDatabase"/> without its locale options (LOCALE, LC_COLLATE, LC_CTYPE, ICU_LOCALE, LOCALE_PROVIDER...).</summary>
    public static string WithoutLocale(string createDatabase)
    {
        var shape = new StatementShape(createDatabase);
        var cut = new List<(int Start, int End)>();
        for (int i = 3; i < shape.Count; i++)
        {
            if (Array.IndexOf(LocaleOptions, shape.Word(i)) < 0)
            {
                continue;
            }

            int v = shape.IsSymbol(i + 1, '=') ? i + 2 : i + 1;
            if (v >= shape.Count)
            {
                break;
            }

            cut.Add((shape.Tokens[i].Start, shape.Tokens[v].End));
            i = v;
        }

        var sb = new System.Text.StringBuilder();
        int pos = 0;
        foreach (var (start, end) in cut)
        {
            sb.Append(createDatabase, pos, start - pos);
            pos = end;
        }

        sb.Append(createDatabase, pos, createDatabase.Length - pos);
        return System.Text.RegularExpressions.Regex.Replace(sb.ToString(), @"[ \t]{2,}", " ").Trim();
    }

    // PostgreSQL 15 reports an unknown locale as 42809 ("invalid locale name"), later versions as 22023 or 42809;
    // either way the statement must carry a locale option for the failure to be about it.
    private static bool IsLocaleFailure(PostgresException e, string sql)
    {
        if (e.SqlState is not ("42809" or "22023"))
        {
            return false;
        }

        var shape = new StatementShape(sql);
        for (int i = 3; i < shape.Count; i++)
        {
            if (Array.IndexOf(LocaleOptions, shape.Word(i)) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, StatementShape? shape, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        if (shape is not null && HasInnerSemicolon(shape))
        {
            // Npgsql splits a parameterless command at its semicolons (legacy batching). A statement that holds
            // semicolons of its own (BEGIN ATOMIC bodies, multi-action rules) is sent as it is by giving it one
            // positional parameter, which turns that rewriting off; the statement does not use it.
            cmd.Parameters.Add(new NpgsqlParameter { Value = 0 });
        }

        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static bool HasInnerSemicolon(StatementShape shape)
    {
        for (int i = 0; i < shape.Count - 1; i++)
        {
            if (shape.IsSymbol(i, ';'))
            {
                return true;
            }
        }

        return false;
    }

    private static BulkDataException Failure(string sourceName, SqlStatement statement, PostgresException e)
    {
        int line = statement.Line;
        if (e.Position > 0 && e.Position <= statement.Text.Length)
        {
            // Position counts characters of the statement from 1: point at the line of the error itself.
            for (int i = 0; i < e.Position - 1; i++)
            {
                if (statement.Text[i] == '\n')
                {
                    line++;
                }
            }
        }

        string where = line == statement.Line ? $"line {line}" : $"line {line} (statement from line {statement.Line})";
        string detail = string.IsNullOrEmpty(e.Detail) ? "" : $" {e.Detail}";
        return new BulkDataException(
            BulkErrorKind.DatabaseError,
            $"{sourceName} {where}: {e.MessageText} (SQLSTATE {e.SqlState}).{detail} Statement: '{statement.Summary(200)}'",
            sourceName,
            e);
    }

    /// <summary>The reason a failure is tolerated, or null when it is an error.</summary>
    private async Task<string?> ToleranceAsync(NpgsqlConnection conn, SqlStatement statement, StatementShape s, PostgresException e, CancellationToken ct)
    {
        switch (e.SqlState)
        {
            case PostgresErrorCodes.UndefinedObject: // 42704
            {
                if (SettingName(s) is { } setting)
                {
                    bool known = await ScalarAsync<bool>(conn, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_settings WHERE name = lower($1))", ct, setting);
                    return known ? null : $"setting {setting} is unknown to this server (PostgreSQL {conn.PostgreSqlVersion})";
                }

                var roles = RoleNames(s);
                if (roles.Count > 0)
                {
                    var missing = await MissingRolesAsync(conn, roles, ct);
                    if (missing.Count > 0)
                    {
                        return missing.Count == 1 ? $"role {missing[0]} does not exist" : $"roles {string.Join(", ", missing)} do not exist";
                    }

                    return null;
                }

                if (TriggerReference(s) is { } trigger && _skippedTriggers.TryGetValue(trigger, out int triggerLine))
                {
                    return $"trigger {trigger.Trigger} on {trigger.Table} was skipped (line {triggerLine})";
                }

                return null;
            }

            case PostgresErrorCodes.UndefinedFunction: // 42883
            {
                if (CreateTrigger(s) is not { } created)
                {
                    return null;
                }

                bool exists = await ScalarAsync<bool>(
                    conn,
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1 AND ($2::text IS NULL OR n.nspname = $2))",
                    ct,
                    created.Function.Name,
                    (object?)created.Function.Schema ?? DBNull.Value);
                if (exists)
                {
                    return null;
                }

                _skippedTriggers[(created.Table, created.Trigger)] = statement.Line;
                return $"trigger function {created.Function}() is not in the dump";
            }

            case PostgresErrorCodes.UndefinedTable: // 42P01
            {
                if (ForeignKey(s) is not { } fk)
                {
                    return null;
                }

                bool referencedExists = await ScalarAsync<bool>(conn, "SELECT to_regclass($1) IS NOT NULL", ct, fk.Referenced.Sql);
                bool tableExists = await ScalarAsync<bool>(conn, "SELECT to_regclass($1) IS NOT NULL", ct, fk.Table.Sql);
                return !referencedExists && tableExists
                    ? $"foreign key {fk.Constraint} references {fk.Referenced}, a table that is not in the dump"
                    : null;
            }

            default:
                return null;
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection conn, string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args)
        {
            cmd.Parameters.Add(a is DBNull ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } : new NpgsqlParameter { Value = a });
        }

        return (T)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task<List<string>> MissingRolesAsync(NpgsqlConnection conn, List<string> roles, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT r FROM unnest($1::text[]) WITH ORDINALITY AS u(r, n) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) ORDER BY n", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = roles.ToArray() });
        var missing = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            missing.Add(reader.GetString(0));
        }

        return missing;
    }

    // SET [SESSION|LOCAL] name ... | RESET name | SELECT [pg_catalog.]set_config('name', ...)
    private static string? SettingName(StatementShape s)
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

    // The roles a statement names: ALTER ... OWNER TO r; GRANT ... TO r, ... [GRANTED BY r]; REVOKE ... FROM r, ...;
    // ALTER DEFAULT PRIVILEGES FOR ROLE r ... GRANT ... TO r.
    private static List<string> RoleNames(StatementShape s)
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

    private sealed record TriggerDefinition(string Trigger, string Table, QualifiedName Function);

    // CREATE [OR REPLACE] [CONSTRAINT] TRIGGER name ... ON table ... EXECUTE {FUNCTION|PROCEDURE} fn(...)
    private static TriggerDefinition? CreateTrigger(StatementShape s)
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

    // COMMENT ON TRIGGER name ON table IS ... | ALTER TABLE table {ENABLE|DISABLE} [ALWAYS|REPLICA] TRIGGER name
    private static (string Table, string Trigger)? TriggerReference(StatementShape s)
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

    private sealed record ForeignKeyDefinition(QualifiedName Table, string Constraint, QualifiedName Referenced);

    // ALTER TABLE [IF EXISTS] [ONLY] table ADD [CONSTRAINT name] FOREIGN KEY (...) REFERENCES target ...
    private static ForeignKeyDefinition? ForeignKey(StatementShape s)
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
