using System.Management.Automation;
using BulkData.Engine;
using BulkData.Engine.Import;

namespace BulkData.Cmdlets;

/// <summary>Swaps the previous generation kept by Invoke-BulkImport -Online -KeepPrevious back into place.</summary>
[Cmdlet(VerbsCommon.Undo, "BulkImport", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = "Parts")]
[OutputType(typeof(BulkGeneration))]
public sealed class UndoBulkImportCommand : DatabaseCmdlet
{
    /// <summary>The generation to undo (a BulkGeneration's Generation); else the newest swapped one whose previous tables were kept.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, long.MaxValue)]
    public long Generation { get; set; }

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    protected override void ProcessRecord()
    {
        UndoOptions options;
        try
        {
            var connection = ConnectionInfo();
            options = new UndoOptions { Connection = connection, Generation = Generation > 0 ? Generation : null, NoWait = NoWait.IsPresent };
        }
        catch (BulkDataException ex)
        {
            ThrowBulkError(ex, null);
            return;
        }

        var found = RunEngine((reporter, _, ct) => new GenerationUndo(options, reporter).FindAsync(ct), options.Connection.Database);
        string target = $"database {found.Database} on {options.Connection.Host}:{options.Connection.Port}";
        if (!ShouldProcess(target, $"Swap generation {found.Generation} ({found.Tables.Count} table(s)) out and the previous tables from {found.PreviousSchema} back in"))
        {
            return;
        }

        var result = RunEngine((reporter, _, ct) => new GenerationUndo(options, reporter).RunAsync(ct), target);
        WriteObject(result);
    }
}
