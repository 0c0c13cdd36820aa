namespace BulkData.Engine.Storage;

/// <summary>
/// Where a bucket lives: the public CourtListener bucket by default, or any S3-compatible
/// endpoint (path-style) for mirrors and tests. Carries no credentials.
/// </summary>
public sealed record BucketLocation
{
    public const string DefaultBucket = "com-courtlistener-storage";
    public const string DefaultPrefix = "bulk-data/";
    public const string DefaultRegion = "us-west-2";

    public string Bucket { get; init; } = DefaultBucket;

    public string Region { get; init; } = DefaultRegion;

    /// <summary>An S3-compatible endpoint such as http://127.0.0.1:4568; null for AWS itself.</summary>
    public string? EndpointUrl { get; init; }

    /// <summary>The endpoint as an absolute http(s) URI without query or trailing slash; null for AWS itself.</summary>
    internal Uri? EndpointUri()
    {
        if (string.IsNullOrEmpty(EndpointUrl))
        {
            return null;
        }

        if (!Uri.TryCreate(EndpointUrl, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The endpoint URL '{EndpointUrl}' is not an absolute http or https URL.", EndpointUrl);
        }

        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/'), UriKind.Absolute);
    }

    /// <summary>How messages name where the bucket is: " at &lt;endpoint&gt;" or " in &lt;region&gt;".</summary>
    internal string Where => EndpointUrl is null ? $" in {Region}" : $" at {EndpointUrl}";
}

/// <summary>An access key pair, with the session token of temporary credentials. Never printed: <see cref="ToString"/> hides the secret and the token.</summary>
public sealed class S3Credentials
{
    public S3Credentials(string accessKey, string secretKey, string? sessionToken = null)
    {
        AccessKey = accessKey;
        SecretKey = secretKey;
        SessionToken = string.IsNullOrEmpty(sessionToken) ? null : sessionToken;
    }

    public string AccessKey { get; }

    internal string SecretKey { get; }

    internal string? SessionToken { get; }

    public bool HasSessionToken => SessionToken is not null;

    public override string ToString() => $"S3Credentials({AccessKey}, ****{(SessionToken is null ? "" : ", token ****")})";
}
