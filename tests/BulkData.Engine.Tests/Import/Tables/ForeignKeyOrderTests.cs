using BulkData.Engine.Import.Tables;
using Xunit;

namespace BulkData.Engine.Tests.Import.Tables;

public sealed class ForeignKeyOrderTests
{
    [Fact]
    public void Parents_come_before_their_children_and_ready_tables_keep_their_order()
    {
        var tables = new[] { "public.search_opinion", "public.search_docket", "public.search_court", "public.search_opinioncluster" };
        var refs = new[]
        {
            ("public.search_opinion", "public.search_opinioncluster"),
            ("public.search_opinioncluster", "public.search_docket"),
            ("public.search_docket", "public.search_court"),
        };

        Assert.Equal(new[] { "public.search_court", "public.search_docket", "public.search_opinioncluster", "public.search_opinion" }, ForeignKeyOrder.Order(tables, refs));
    }

    [Fact]
    public void References_outside_the_set_and_to_itself_do_not_constrain()
    {
        var tables = new[] { "public.b", "public.a" };
        var refs = new[] { ("public.b", "public.not_loaded"), ("public.a", "public.a"), ("public.other", "public.b") };

        Assert.Equal(new[] { "public.b", "public.a" }, ForeignKeyOrder.Order(tables, refs));
    }

    [Fact]
    public void A_cycle_is_broken_at_the_first_table_left()
    {
        var tables = new[] { "public.x", "public.y", "public.z" };
        var refs = new[] { ("public.x", "public.y"), ("public.y", "public.x"), ("public.z", "public.y") };

        Assert.Equal(new[] { "public.x", "public.y", "public.z" }, ForeignKeyOrder.Order(tables, refs));
    }

    [Fact]
    public void Names_compare_without_case()
    {
        Assert.Equal(new[] { "public.Parent", "public.child" }, ForeignKeyOrder.Order(new[] { "public.child", "public.Parent" }, new[] { ("PUBLIC.CHILD", "public.parent") }));
    }
}
