using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>
/// Where to import: an Npgsql connection string, or host/port/database/user/password, completed from libpq's
/// environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD) for what is not given. Npgsql itself only
/// reads PGUSER/PGPASSWORD/PGPASSFILE and a few SSL variables, so the others are applied here. <see cref="ToString"/>
/// and <see cref="Describe"/> never show the password.
/// </summary>
public sealed class PgConnectionInfo
{
    private readonly NpgsqlConnectionStringBuilder _builder;

    private PgConnectionInfo(NpgsqlConnectionStringBuilder builder)
    {
        _builder = builder;
    }

    /// <summary>
    /// Builds the connection settings. Explicit parts win over the connection string, which wins over the
    /// environment (<paramref name="environment"/> defaults to the process environment).
    /// </summary>
    public static PgConnectionInfo Create(
        string? connectionString = null,
        string? host = null,
        int? port = null,
        string? database = null,
        string? user = null,
        string? password = null,
        Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString ?? string.Empty);
        }
        catch (ArgumentException e)
        {
            // The message of a bad connection string can quote it (a password): name the key, never a value.
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "The connection string is not valid: " + OffendingPart(connectionString!) + " (Npgsql syntax: Key=Value;...; " + e.GetType().Name + ").", "ConnectionString");
        }

        string? Env(string name) => environment(name) is { Length: > 0 } v ? v : null;
        builder.Host = host ?? (string.IsNullOrEmpty(builder.Host) ? Env("PGHOST") ?? "localhost" : builder.Host);
        if (port is not null)
        {
            builder.Port = port.Value;
        }
        else if (!(connectionString ?? "").Contains("port", StringComparison.OrdinalIgnoreCase) && int.TryParse(Env("PGPORT"), out int envPort))
        {
            builder.Port = envPort;
        }

        builder.Username = user ?? (string.IsNullOrEmpty(builder.Username) ? Env("PGUSER") ?? Environment.UserName : builder.Username);
        if (password is not null)
        {
            builder.Password = password;
        }
        else if (string.IsNullOrEmpty(builder.Password) && Env("PGPASSWORD") is { } envPassword)
        {
            builder.Password = envPassword;
        }

        builder.Database = database ?? (string.IsNullOrEmpty(builder.Database) ? Env("PGDATABASE") ?? builder.Username : builder.Database);
        builder.CommandTimeout = 0;
        builder.IncludeErrorDetail = false;
        return new PgConnectionInfo(builder);
    }

    /// <summary>
    /// Which part of a connection string Npgsql refuses: the first key it does not know, or whose value it cannot
    /// take, or the position of a part that is not Key=Value. Values are never quoted (one may be a password).
    /// </summary>
    internal static string OffendingPart(string connectionString)
    {
        int position = 0;
        foreach (string part in connectionString.Split(';'))
        {
            int start = position;
            position += part.Length + 1;
            if (part.Trim().Length == 0)
            {
                continue;
            }

            int eq = part.IndexOf('=');
            if (eq <= 0 || part[..eq].Trim().Length == 0)
            {
                return $"the part at character {start + 1} is not Key=Value";
            }

            string key = part[..eq].Trim();
            if (part[(eq + 1)..].TrimStart().StartsWith('"') || part[(eq + 1)..].TrimStart().StartsWith('\''))
            {
                // A quoted value may hold ';': Npgsql's own parser is the judge from here on.
                break;
            }

            var probe = new NpgsqlConnectionStringBuilder();
            try
            {
                probe[key] = part[(eq + 1)..].Trim();
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException)
            {
                return probe.ContainsKey(key) || IsKnownKey(key)
                    ? $"the value of key '{key}' is not valid for it"
                    : $"the key '{key}' is not a known Npgsql setting";
            }
        }

        return "its syntax is not Key=Value;...";
    }

    private static bool IsKnownKey(string key)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder().ContainsKey(key);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public string Host => _builder.Host ?? "localhost";

    public int Port => _builder.Port;

    public string Database => _builder.Database ?? "postgres";

    public string User => _builder.Username ?? "";

    /// <summary>The same server with another database.</summary>
    public PgConnectionInfo WithDatabase(string database)
        => new(new NpgsqlConnectionStringBuilder(_builder.ConnectionString) { Database = database });

    /// <summary>The same settings without connection pooling: each load gets a backend of its own.</summary>
    public PgConnectionInfo WithoutPooling()
        => new(new NpgsqlConnectionStringBuilder(_builder.ConnectionString) { Pooling = false });

    /// <summary>The same settings with another application_name (how the run's connections show in pg_stat_activity).</summary>
    public PgConnectionInfo WithApplicationName(string name)
        => new(new NpgsqlConnectionStringBuilder(_builder.ConnectionString) { ApplicationName = name });

    /// <summary>The connection string, password included: only for opening connections, never for messages.</summary>
    internal string ConnectionString => _builder.ConnectionString;

    /// <summary>The connection string to the server's maintenance database (postgres), for CREATE DATABASE.</summary>
    internal string AdminConnectionString => new NpgsqlConnectionStringBuilder(_builder.ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;

    internal NpgsqlConnection CreateConnection() => new(ConnectionString);

    /// <summary>user@host:port/database, for messages.</summary>
    public string Describe() => $"{User}@{Host}:{Port}/{Database}";

    public override string ToString() => Describe();
}
