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
}

/// <summary>An access key pair. Never printed: <see cref="ToString"/> hides the secret.</summary>
public sealed class S3Credentials
{
    public S3Credentials(string accessKey, string secretKey)
    {
        AccessKey = accessKey;
        SecretKey = secretKey;
    }

    public string AccessKey { get; }

    internal string SecretKey { get; }

    public override string ToString() => $"S3Credentials({AccessKey}, ****)";
}
