using BulkData.Engine.Import.Tables;
using Xunit;

namespace BulkData.Engine.Tests.Import.Tables;

public sealed class LoadModePolicyTests
{
    [Theory]
    [InlineData(true, false, false, 0, true)]   // a schema and none of its tables: apply pre-data
    [InlineData(true, false, false, 3, false)]  // its tables exist already: load into them
    [InlineData(true, true, false, 3, true)]    // pre-data done by an earlier run: resume
    [InlineData(true, false, true, 3, true)]    // post-data done too
    [InlineData(false, false, false, 0, false)] // no schema script: the tables must exist
    public void A_run_is_fresh_when_its_schema_creates_the_tables_or_did_so_before(bool hasSchema, bool pre, bool post, int existing, bool fresh)
        => Assert.Equal(fresh, LoadModePolicy.IsFresh(hasSchema, pre, post, existing));

    [Theory]
    [InlineData(true, false, true, "Fresh")]
    [InlineData(true, false, false, "Fresh")]
    [InlineData(true, true, true, "ExistingReplica")]
    [InlineData(false, false, true, "ExistingReplica")]
    [InlineData(false, false, false, "ExistingForeignKeyOrder")]
    [InlineData(true, true, false, "ExistingForeignKeyOrder")]
    public void Existing_tables_load_with_replica_role_or_in_foreign_key_order(bool fresh, bool postDone, bool replica, string mode)
        => Assert.Equal(Enum.Parse<LoadMode>(mode), LoadModePolicy.Choose(fresh, postDone, replica));

    [Fact]
    public void Foreign_key_order_loads_one_table_at_a_time()
    {
        Assert.Equal(1, LoadModePolicy.Parallelism(LoadMode.ExistingForeignKeyOrder, 8));
        Assert.Equal(8, LoadModePolicy.Parallelism(LoadMode.ExistingReplica, 8));
        Assert.Equal(8, LoadModePolicy.Parallelism(LoadMode.Fresh, 8));
    }
}
