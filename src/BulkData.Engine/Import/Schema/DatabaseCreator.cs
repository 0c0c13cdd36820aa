using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Schema;

/// <summary>Whether <see cref="DatabaseCreator.EnsureDatabaseAsync(string, string, SqlStatement?, string?, IBulkReporter, CancellationToken)"/> created the database, and what of its statement it skipped (the locale).</summary>
internal sealed record DatabaseEnsureResult(bool Created, IReadOnlyList<SchemaWarning> Skipped);

/// <summary>Creates the target database when it is missing, with the dump's options where this server can take them.</summary>
internal static class DatabaseCreator
{
    private static readonly string[] LocaleOptions =
    {
        "LOCALE", "LC_COLLATE", "LC_CTYPE", "ICU_LOCALE", "ICU_RULES", "LOCALE_PROVIDER", "BUILTIN_LOCALE", "COLLATION_VERSION",
    };

    /// <summary>
    /// Creates <paramref name="database"/> when it does not exist, with the dump's <c>CREATE DATABASE</c> options
    /// (retargeted to this name) when given. When the server lacks the dump's locale, creates it without the locale
    /// options and warns. Returns true when it created the database, false when it existed.
    /// </summary>
    public static async Task<bool> EnsureDatabaseAsync(string adminConnectionString, string database, string? createDatabaseStatement, IBulkReporter reporter, CancellationToken ct)
    {
        var statement = createDatabaseStatement is null ? null : new SqlStatement(createDatabaseStatement, 0, StatementKind.Sql);
        return (await EnsureDatabaseAsync(adminConnectionString, database, statement, null, reporter, ct).ConfigureAwait(false)).Created;
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
            await conn.OpenAsync(ct).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (!ct.IsCancellationRequested)
        {
            throw PgErrors.Translate(e, $"Cannot connect to PostgreSQL at {server} (database {builder.Database}, user {builder.Username}) to create database {database}", database);
        }

        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", conn))
        {
            exists.Parameters.Add(new NpgsqlParameter { Value = database });
            if (await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null)
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
            await StatementRunner.ExecuteAsync(conn, sql, null, ct).ConfigureAwait(false);
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
                await StatementRunner.ExecuteAsync(conn, plain, null, ct).ConfigureAwait(false);
            }
            catch (PostgresException e2) when (e2.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
                return new DatabaseEnsureResult(false, skipped);
            }
            catch (PostgresException e2)
            {
                throw PgErrors.Translate(e2, $"Cannot create database {database} on {server}", database);
            }
        }
        catch (PostgresException e)
        {
            throw PgErrors.Translate(e, $"Cannot create database {database} on {server}", database);
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
}
