using Npgsql;
using Xunit;

namespace BulkData.Engine.Tests.Import;

/// <summary>Where the tests find the real services and the shared fixtures; skips say why when they are absent.</summary>
internal static class ImportTestEnvironment
{
    public const string RealSchemaFile = "schema-2024-12-31.sql";

    /// <summary>The test server's connection string (build.ps1 test sets BULKDATA_TEST_PG), or null.</summary>
    public static string? PgConnectionString => Environment.GetEnvironmentVariable("BULKDATA_TEST_PG") is { Length: > 0 } cs ? cs : null;

    public static string RequirePg()
    {
        Skip.If(PgConnectionString is null, "BULKDATA_TEST_PG is not set: run through ./build.ps1 test, which starts PostgreSQL 15.");
        return PgConnectionString!;
    }

    /// <summary>The repository root: BULKDATA_REPO, else the folder above the test assembly that holds BulkData.sln.</summary>
    public static string RepoRoot
    {
        get
        {
            if (Environment.GetEnvironmentVariable("BULKDATA_REPO") is { Length: > 0 } repo)
            {
                return repo;
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "BulkData.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("Cannot find the repository root (BulkData.sln) above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>
    /// ../shared/fixtures/courtlistener/schema-2024-12-31.sql relative to the repository root (or to a folder above
    /// it, for a git worktree kept one level deeper), or under BULKDATA_SHARED when that is set.
    /// </summary>
    public static string RealSchemaPath
    {
        get
        {
            if (Environment.GetEnvironmentVariable("BULKDATA_SHARED") is { Length: > 0 } shared)
            {
                return Path.Combine(shared, "fixtures", "courtlistener", RealSchemaFile);
            }

            string first = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures", "courtlistener", RealSchemaFile));
            for (var dir = new DirectoryInfo(RepoRoot).Parent; dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "fixtures", "courtlistener", RealSchemaFile);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return first;
        }
    }

    public static string RequireRealSchema()
    {
        string path = RealSchemaPath;
        Skip.IfNot(File.Exists(path), $"The real CourtListener schema is not at {path} (../shared/fixtures/courtlistener relative to the repository): test skipped.");
        return path;
    }

    public static string ConnectionStringFor(string database)
        => new NpgsqlConnectionStringBuilder(RequirePg()) { Database = database, Pooling = false }.ConnectionString;

    public static string NewDatabaseName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];

    public static async Task DropDatabaseAsync(string database)
    {
        if (PgConnectionString is null)
        {
            return;
        }

        await using var conn = new NpgsqlConnection(ConnectionStringFor("postgres"));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Runs one statement on a connection of its own to <paramref name="cs"/>.</summary>
    public static async Task ExecAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>The first value of a query, on a connection of its own to <paramref name="cs"/>.</summary>
    public static async Task<object?> ScalarAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return await cmd.ExecuteScalarAsync();
    }

    public static async Task<long> CountAsync(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }
}

/// <summary>Collects what the engine reports, for assertions.</summary>
internal sealed class RecordingReporter : IBulkReporter
{
    private readonly object _gate = new();

    public List<string> Warnings { get; } = new();

    public List<string> VerboseMessages { get; } = new();

    public void Verbose(string message)
    {
        lock (_gate)
        {
            VerboseMessages.Add(message);
        }
    }

    public void Warning(string message)
    {
        lock (_gate)
        {
            Warnings.Add(message);
        }
    }

    public void Progress(ProgressUpdate update)
    {
    }
}
