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
    DatabaseError,
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
    public BulkDataException(BulkErrorKind kind, string message, string? target = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Target = target;
    }

    public BulkErrorKind Kind { get; }

    public string? Target { get; }

    /// <summary>A stable identifier for the error, used as the ErrorRecord's FullyQualifiedErrorId.</summary>
    public string ErrorId => Kind.ToString();
}
