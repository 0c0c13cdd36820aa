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
}
