using System.Management.Automation;
using BulkData.Engine.Import;

namespace BulkData.Cmdlets;

/// <summary>
/// The binding of the cmdlets that talk to PostgreSQL: one set of connection parameters (a connection string, or its
/// parts with a credential) and the one way they become a <see cref="PgConnectionInfo"/>.
/// </summary>
public abstract class DatabaseCmdlet : BulkCmdlet
{
    [Parameter(ParameterSetName = "ConnectionString", Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string? ConnectionString { get; set; }

    [Parameter(ParameterSetName = "Parts")]
    [ValidateNotNullOrEmpty]
    public new string? Host { get; set; }

    [Parameter(ParameterSetName = "Parts")]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Database { get; set; }

    [Parameter(ParameterSetName = "Parts")]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>The connection the parameters name (a malformed connection string is a BulkDataException naming its key).</summary>
    protected PgConnectionInfo ConnectionInfo()
    {
        var credential = Credential is null || Credential == PSCredential.Empty ? null : Credential;
        return PgConnectionInfo.Create(
            ConnectionString,
            Host,
            Port > 0 ? Port : null,
            Database,
            credential?.UserName,
            credential?.GetNetworkCredential().Password);
    }
}
