using System.Management.Automation;
using BulkData.Engine.Storage;

namespace BulkData.Cmdlets;

internal static class Credentials
{
    /// <summary>A PSCredential of access key (user name) and secret key (password).</summary>
    public static S3Credentials? ToS3(PSCredential? credential)
        => credential is null || credential == PSCredential.Empty
            ? null
            : new S3Credentials(credential.UserName, credential.GetNetworkCredential().Password);

    /// <summary>
    /// The credentials of a run by the engine's one rule (<see cref="S3CredentialResolver"/>): -Credential,
    /// -ProfileName, the AWS_* environment variables, AWS_PROFILE, else anonymous. Says which on -Verbose, never a key.
    /// </summary>
    public static S3Credentials? Resolve(BulkCmdlet cmdlet, PSCredential? credential, string? profileName, object? errorTarget)
    {
        var resolved = cmdlet.RunEngineFor((_, _, _) => Task.FromResult(S3CredentialResolver.Resolve(ToS3(credential), profileName)), errorTarget);
        cmdlet.WriteVerbose($"S3 credentials: {resolved.Description}.");
        return resolved.Credentials;
    }
}
