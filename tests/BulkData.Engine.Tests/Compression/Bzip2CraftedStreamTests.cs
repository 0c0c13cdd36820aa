using BulkData.Engine.Compression;
using BulkData.TestKit;
using Xunit;

namespace BulkData.Engine.Tests.Compression;

/// <summary>
/// Streams written by the test kit's own encoder (<see cref="Bzip2Crafter"/>) to reach what bzip2's and
/// lbzip2's encoders never write: compressed bits that spell the block magics over and over, randomised
/// blocks, oversubscribed code-length tables, a block that ends inside a run-length code. Each is checked
/// against the real `bzip2 -d` and `lbzip2 -d`: our bytes equal theirs where they accept the stream, and we
/// refuse what bzip2 refuses.
/// </summary>
public class Bzip2CraftedStreamTests
{
    private static void SkipWithoutTools()
    {
        Skip.IfNot(Bzip2TestData.ToolExists("bzip2") && Bzip2TestData.ToolExists("lbzip2"), "bzip2 and lbzip2 are needed");
    }

    /// <summary>Our bytes equal bzip2's, which must accept the stream; and lbzip2's when it accepts it. Returns whether lbzip2 did.</summary>
    private static bool AssertDecodesAsTheTools(byte[] compressed, byte[] expected, int threads = 0)
    {
        byte[]? bzip2 = Bzip2TestData.TryTool("bzip2", compressed);
        Assert.NotNull(bzip2);
        Assert.True(expected.AsSpan().SequenceEqual(bzip2), "bzip2 -d does not give the crafted content");
        byte[] ours = Bzip2TestData.Decode(compressed, threads);
        Assert.Equal(bzip2.Length, ours.Length);
        Assert.True(bzip2.AsSpan().SequenceEqual(ours), "our output differs from bzip2 -d");
        byte[]? lbzip2 = Bzip2TestData.TryTool("lbzip2", compressed);
        if (lbzip2 is not null)
        {
            Assert.True(lbzip2.AsSpan().SequenceEqual(ours), "our output differs from lbzip2 -d");
        }

        return lbzip2 is not null;
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Blocks_whose_bits_spell_the_magics_many_times_decode_as_bzip2_does(int threads)
    {
        SkipWithoutTools();
        byte[] compressed = Bzip2Crafter.FalseMagics(400_000, seed: threads, out int falseMagics, out byte[] content, level: 3);
        Assert.True(falseMagics > 40_000, $"only {falseMagics} false magics");
        Assert.True(Bzip2DecoderStreamTests.BlockStarts(compressed).Length > falseMagics / 2, "the block magic is not in the compressed bits");
        Assert.True(AssertDecodesAsTheTools(compressed, content, threads), "lbzip2 refused a valid stream");

        // Structural bounds: at most one speculative decode per candidate; each block decoded again at most
        // once, whole; the rejected candidates' buffers went back as they were dropped.
        Bzip2TestData.Decode(compressed, out var stats, threads);
        long blocks = stats.Blocks;
        Assert.True(blocks >= 2, $"{blocks} blocks");
        Assert.True(stats.Candidates + stats.CandidatesSkipped >= falseMagics, $"{stats.Candidates} candidates + {stats.CandidatesSkipped} skipped, {falseMagics} magics");
        Assert.True(stats.SpeculativeDecodes <= stats.Candidates, $"{stats.SpeculativeDecodes} decodes for {stats.Candidates} candidates");
        Assert.True(stats.OrdererDecodes <= blocks, $"{stats.OrdererDecodes} decodes again for {blocks} blocks");
        Assert.True(stats.TransformsDone <= blocks, $"{stats.TransformsDone} speculative transforms for {blocks} blocks");
        // Jobs between the reader and the orderer are bounded by their bytes, each charged at least
        // JobCharge; decoded blocks by the decoder threads, the accepted queue and the output channel.
        long jobs = Bzip2Pipeline.JobLimitFor(threads);
        long budget = Bzip2Pipeline.SmallJobBudget + (((threads * 2) + 2) * (long)Bzip2Pipeline.MaxBlockSpan);
        int outputs = threads + (threads + 2) + 2 + 2;
        Assert.True(stats.PeakBuffersOutstanding <= jobs + outputs + 16, $"{stats.PeakBuffersOutstanding} buffers at once for {threads} threads (bound {jobs + outputs + 16})");
        Assert.True(stats.PeakBytesOutstanding <= budget + (jobs * 16) + (outputs * (2L << 20)), $"{stats.PeakBytesOutstanding} bytes at once for {threads} threads");
        Assert.Equal(0, stats.BuffersOutstanding);
    }

    [SkippableFact]
    public void False_magics_in_every_block_of_several_streams()
    {
        SkipWithoutTools();
        byte[] a = Bzip2Crafter.FalseMagics(30_000, seed: 5, out _, out byte[] ca, level: 1);
        byte[] text = Bzip2TestData.Text(500_000, 6);
        byte[] b = Bzip2TestData.Compress("bzip2", 1, text);
        byte[] c = Bzip2Crafter.FalseMagics(250_000, seed: 7, out _, out byte[] cc, level: 9);
        byte[] compressed = Bzip2TestData.Concat(a, b, c, a);
        AssertDecodesAsTheTools(compressed, Bzip2TestData.Concat(ca, text, cc, ca), threads: 2);
    }

    [SkippableFact]
    public void A_false_magic_every_few_bytes_of_a_tiny_stream()
    {
        SkipWithoutTools();
        byte[] compressed = Bzip2Crafter.FalseMagics(200, seed: 9, out int falseMagics, out byte[] content, level: 1);
        Assert.True(falseMagics >= 20);
        AssertDecodesAsTheTools(compressed, content, threads: 4);
    }

    [SkippableFact]
    public void A_damaged_crafted_stream_is_reported_not_hung()
    {
        SkipWithoutTools();
        byte[] compressed = Bzip2Crafter.FalseMagics(120_000, seed: 3, out _, out _, level: 2);
        var random = new Random(4);
        for (int trial = 0; trial < 6; trial++)
        {
            byte[] damaged = (byte[])compressed.Clone();
            damaged[random.Next(10, damaged.Length - 1)] ^= (byte)(1 << random.Next(8));
            Assert.Null(Bzip2TestData.TryTool("bzip2", damaged));
            var ex = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(damaged, threads: 2, source: "crafted.bz2"));
            Assert.StartsWith("crafted.bz2: ", ex.Message);
        }

        byte[] cut = compressed.AsSpan(0, compressed.Length / 2).ToArray();
        var truncated = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(cut, threads: 2, source: "cut.bz2"));
        Assert.Contains("cut short", truncated.Message);
    }

    [SkippableTheory]
    [InlineData("text", 1)]
    [InlineData("runs", 2)]
    [InlineData("random", 1)]
    public void Randomised_blocks_decode_as_bzip2_and_lbzip2_do(string content, int level)
    {
        SkipWithoutTools();
        byte[] input = content switch
        {
            "text" => Bzip2TestData.Text(250_000, 1),
            "runs" => Bzip2TestData.Runs(2).AsSpan(0, 150_000).ToArray(),
            _ => Bzip2TestData.Random(120_000, 3),
        };
        byte[] compressed = Bzip2Crafter.Compress(input, new Bzip2CraftOptions { Level = level, BlockBytes = 60_000, Randomised = true });
        Assert.True(AssertDecodesAsTheTools(compressed, input), "lbzip2 refused randomised blocks");

        // The randomisation matters: the same blocks without their flag decode to other bytes (bad CRCs).
        byte[] plain = Bzip2Crafter.Compress(input, new Bzip2CraftOptions { Level = level, BlockBytes = 60_000 });
        Assert.True(AssertDecodesAsTheTools(plain, input));
        Assert.NotEqual(plain, compressed);
    }

    [SkippableFact]
    public void Oversubscribed_code_length_tables_decode_as_bzip2_does()
    {
        SkipWithoutTools();
        var random = new Random(12);
        var input = new byte[200_000];
        byte previous = 255;
        for (int i = 0; i < input.Length;)
        {
            // Runs of 1..13 of one byte, never merging with the previous run.
            byte b = (byte)random.Next(10);
            if (b == previous)
            {
                continue;
            }

            previous = b;
            int run = random.Next(5) == 0 ? random.Next(1, 14) : 1;
            for (int k = 0; k < run && i < input.Length; k++)
            {
                input[i++] = b;
            }
        }

        byte[] compressed = Bzip2Crafter.Compress(input, new Bzip2CraftOptions { Level = 1, BlockBytes = 70_000, Oversubscribed = true });
        AssertDecodesAsTheTools(compressed, input, threads: 2);
        AssertDecodesAsTheTools(compressed, input, threads: 1);
    }

    [SkippableFact]
    public void A_block_ending_in_four_equal_bytes_without_a_count_is_refused_as_bzip2_refuses_it()
    {
        SkipWithoutTools();
        byte[] input = Bzip2TestData.Text(50_000, 8);
        byte[] good = Bzip2Crafter.Compress(input, new Bzip2CraftOptions { Level = 1, BlockBytes = 20_000 });
        AssertDecodesAsTheTools(good, input);

        byte[] bad = Bzip2Crafter.Compress(input, new Bzip2CraftOptions { Level = 1, BlockBytes = 20_000, EndsInRunOfFour = true });
        Assert.Null(Bzip2TestData.TryTool("bzip2", bad));
        long[] blocks = Bzip2DecoderStreamTests.BlockStarts(bad);
        var ex = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(bad, source: "run.bz2"));
        Assert.Equal(BulkErrorKind.InvalidData, ex.Kind);
        Assert.Contains($"block {blocks.Length} at compressed byte {blocks[^1] >> 3} (bit {blocks[^1] & 7}) is invalid", ex.Message);
        Assert.Contains("four equal bytes and no run-length count", ex.Message);
    }
}
