namespace BulkData.Engine;

/// <summary>What went wrong, in terms a cmdlet can map onto an ErrorRecord category.</summary>
public enum BulkErrorKind
{
    InvalidArgument,
    EndpointUnreachable,
    BucketNotFound,
    AccessDenied,
    EmptyListing,
    ObjectNotFound,
    IntegrityFailure,
    InsufficientSpace,
    UnsafePath,
    InvalidData,
    /// <summary>A statement the server refused; <see cref="BulkDataException.Code"/> is its SQLSTATE.</summary>
    DatabaseError,

    /// <summary>The server refused the login (SQLSTATE class 28: wrong password, no such role, pg_hba).</summary>
    DatabaseAuthenticationFailed,

    /// <summary>The server could not be reached or the connection broke (refused, unknown host, timeout).</summary>
    DatabaseUnreachable,
    ExternalCommandFailed,
    Cancelled,
    Timeout,

    /// <summary>Another run holds the lock of the folder or database (and -NoWait was given).</summary>
    InUse,
}

/// <summary>
/// An expected failure with a message meant for the user. <see cref="Target"/> names the file,
/// object, table or service it is about. Messages never carry secrets.
/// </summary>
public class BulkDataException : Exception
{
    public BulkDataException(BulkErrorKind kind, string message, string? target = null, Exception? inner = null, string? code = null)
        : base(message, inner)
    {
        Kind = kind;
        Target = target;
        Code = code;
    }

    public BulkErrorKind Kind { get; }

    public string? Target { get; }

    /// <summary>A finer code within the kind, such as the SQLSTATE of a DatabaseError; null when there is none.</summary>
    public string? Code { get; }

    /// <summary>
    /// A stable identifier for the error, used as the ErrorRecord's FullyQualifiedErrorId: the kind, and its code
    /// when there is one (<c>DatabaseError.42P01</c>).
    /// </summary>
    public string ErrorId => Code is null ? Kind.ToString() : $"{Kind}.{Code}";
}
