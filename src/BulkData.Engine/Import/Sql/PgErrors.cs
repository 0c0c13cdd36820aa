using System.Net.Sockets;
using Npgsql;

namespace BulkData.Engine.Import.Sql;

/// <summary>
/// The one translator of Npgsql failures into <see cref="BulkDataException"/> kinds: a refused login
/// (SQLSTATE class 28) is DatabaseAuthenticationFailed, a server that cannot be reached (refused, unknown host,
/// timeout, broken connection) is DatabaseUnreachable, and any other server error is DatabaseError with its
/// SQLSTATE as the code. Messages are the caller's (they name the server, database, file and line) plus the
/// server's own text; never the connection string.
/// </summary>
internal static class PgErrors
{
    public static BulkErrorKind KindOf(Exception e) => e switch
    {
        PostgresException pg when pg.SqlState.StartsWith("28", StringComparison.Ordinal) => BulkErrorKind.DatabaseAuthenticationFailed,
        PostgresException => BulkErrorKind.DatabaseError,
        NpgsqlException { InnerException: PostgresException inner } => KindOf(inner),
        NpgsqlException or SocketException or TimeoutException or IOException => BulkErrorKind.DatabaseUnreachable,
        _ => BulkErrorKind.DatabaseError,
    };

    public static string? SqlStateOf(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState,
        NpgsqlException { InnerException: PostgresException inner } => inner.SqlState,
        _ => null,
    };

    /// <summary>
    /// The failure as a BulkDataException of its kind; <paramref name="message"/> says what was being done. With
    /// <paramref name="withDetail"/> the server's detail and hint follow (a duplicate key's value, the object to drop).
    /// </summary>
    public static BulkDataException Translate(Exception e, string message, string? target, bool withDetail = false)
    {
        var kind = KindOf(e);
        string? state = SqlStateOf(e);
        string what = kind switch
        {
            BulkErrorKind.DatabaseAuthenticationFailed => "authentication failed",
            BulkErrorKind.DatabaseUnreachable => "the server cannot be reached",
            _ => "the server refused",
        };
        string text = e is PostgresException pg ? pg.MessageText : e.Message;
        string sqlState = state is null ? "" : $" (SQLSTATE {state})";
        string more = !withDetail || e is not PostgresException p ? "" : (p.Detail is null ? "" : $" {p.Detail.TrimEnd('.')}.") + (p.Hint is null ? "" : $" {p.Hint.TrimEnd('.')}.");
        return new BulkDataException(kind, $"{message}: {what}: {text}{sqlState}.{more}", target, e, kind == BulkErrorKind.DatabaseUnreachable ? null : state);
    }
}
