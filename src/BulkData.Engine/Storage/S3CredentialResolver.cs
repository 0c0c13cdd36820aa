using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;

namespace BulkData.Engine.Storage;

/// <summary>Where the S3 credentials of a run came from: said in verbose output, never with a key.</summary>
public enum S3CredentialSource
{
    Anonymous,
    Credential,
    Profile,
    Environment,
}

/// <summary>The credentials of a run (null: anonymous) and where they came from.</summary>
public sealed record ResolvedS3Credentials(S3Credentials? Credentials, S3CredentialSource Source, string Description)
{
    public override string ToString() => Description;
}

/// <summary>
/// The one rule for which S3 credentials a run uses, as AWS users keep them: an explicit access key pair
/// (-Credential) first, then a named profile of the shared credentials file (-ProfileName; the file is
/// AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, with ~/.aws/config's profiles too), then the standard
/// environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the profile that
/// AWS_PROFILE names; otherwise anonymous (the public bucket needs nothing). Session tokens are kept with their
/// keys. Nothing here writes a key, a secret or a token anywhere.
/// </summary>
public static class S3CredentialResolver
{
    public static ResolvedS3Credentials Resolve(S3Credentials? credential, string? profileName, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? Env(string name) => environment(name) is { Length: > 0 } v ? v : null;
        if (credential is not null && !string.IsNullOrEmpty(profileName))
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "Give -Credential or -ProfileName, not both.", profileName);
        }

        if (credential is not null)
        {
            return new ResolvedS3Credentials(credential, S3CredentialSource.Credential, "the access key given with -Credential");
        }

        if (!string.IsNullOrEmpty(profileName))
        {
            return FromProfile(profileName, Env, "-ProfileName");
        }

        if (Env("AWS_ACCESS_KEY_ID") is { } key)
        {
            string secret = Env("AWS_SECRET_ACCESS_KEY")
                ?? throw new BulkDataException(BulkErrorKind.InvalidArgument, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both (and AWS_SESSION_TOKEN for temporary credentials), or neither.", "AWS_SECRET_ACCESS_KEY");
            string? token = Env("AWS_SESSION_TOKEN");
            return new ResolvedS3Credentials(new S3Credentials(key, secret, token), S3CredentialSource.Environment, $"the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY{(token is null ? "" : " with AWS_SESSION_TOKEN")}");
        }

        if (Env("AWS_PROFILE") is { } envProfile)
        {
            return FromProfile(envProfile, Env, "AWS_PROFILE");
        }

        return new ResolvedS3Credentials(null, S3CredentialSource.Anonymous, "no credentials (anonymous requests)");
    }

    private static ResolvedS3Credentials FromProfile(string profileName, Func<string, string?> env, string givenBy)
    {
        string file = env("AWS_SHARED_CREDENTIALS_FILE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".aws", "credentials");
        CredentialProfile? profile = null;
        try
        {
            if (File.Exists(file))
            {
                new SharedCredentialsFile(file).TryGetProfile(profileName, out profile);
            }

            if (profile is null && env("AWS_SHARED_CREDENTIALS_FILE") is null)
            {
                // ~/.aws/config holds profiles too ("[profile name]"); the SDK's chain reads both.
                new CredentialProfileStoreChain().TryGetProfile(profileName, out profile);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidDataException or AmazonClientException)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The shared credentials file '{file}' cannot be read: {e.GetType().Name}.", file);
        }

        if (profile is null)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The profile '{profileName}' ({givenBy}) is not in the shared credentials file '{file}'.", profileName);
        }

        var options = profile.Options;
        if (string.IsNullOrEmpty(options.AccessKey) || string.IsNullOrEmpty(options.SecretKey))
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The profile '{profileName}' in '{file}' has no aws_access_key_id and aws_secret_access_key (role, SSO and process profiles are not supported: use their temporary keys through AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN).", profileName);
        }

        string? token = string.IsNullOrEmpty(options.Token) ? null : options.Token;
        return new ResolvedS3Credentials(new S3Credentials(options.AccessKey, options.SecretKey, token), S3CredentialSource.Profile, $"the profile '{profileName}' of '{file}'{(token is null ? "" : " with its session token")}");
    }
}
