using Amazon;
using Amazon.Runtime;
using Amazon.S3;

namespace BulkData.Engine.Storage;

/// <summary>Builds S3 clients: anonymous unless credentials are given, path-style for custom endpoints.</summary>
public static class S3ClientFactory
{
    /// <param name="maxStaleConnectionRetries">Retries of a reset pooled connection that the SDK makes on its own (null: its default of 10).</param>
    public static IAmazonS3 Create(BucketLocation location, S3Credentials? credentials = null, int maxErrorRetry = 3, int? maxStaleConnectionRetries = null)
    {
        var config = new AmazonS3Config
        {
            MaxErrorRetry = maxErrorRetry,
            Timeout = TimeSpan.FromMinutes(5),
            // Checksums only where S3 requires them: S3-compatible servers (mirrors, s3rver) do not all
            // understand the SDK's trailing-checksum uploads, and downloads are verified by our own code.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (maxStaleConnectionRetries is int stale)
        {
            config.MaxStaleConnectionRetries = stale;
        }

        if (location.EndpointUri() is { } uri)
        {
            config.ServiceURL = uri.AbsoluteUri.TrimEnd('/');
            config.ForcePathStyle = true;
            config.AuthenticationRegion = location.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(location.Region);
        }

        AWSCredentials creds = credentials switch
        {
            null => new AnonymousAWSCredentials(),
            { SessionToken: { } token } => new SessionAWSCredentials(credentials.AccessKey, credentials.SecretKey, token),
            _ => new BasicAWSCredentials(credentials.AccessKey, credentials.SecretKey),
        };
        return new AmazonS3Client(creds, config);
    }
}
