using BulkData.Engine.Compression;
using Xunit;

namespace BulkData.Engine.Tests.Compression;

public class Bzip2DecoderStreamTests
{
    public static TheoryData<string, int, string> Cases()
    {
        var data = new TheoryData<string, int, string>();
        foreach (string tool in new[] { "bzip2", "lbzip2", "pbzip2" })
        {
            foreach (int level in new[] { 1, 9 })
            {
                foreach (string content in new[] { "empty", "one-byte", "runs", "long-run", "random", "text" })
                {
                    data.Add(tool, level, content);
                }
            }
        }

        return data;
    }

    internal static byte[] Content(string name) => name switch
    {
        "empty" => Array.Empty<byte>(),
        "one-byte" => new byte[] { 0x41 },
        "runs" => Bzip2TestData.Runs(7),
        "long-run" => Bzip2TestData.LongRun(3_000_000, 0x20),
        "random" => Bzip2TestData.Random(1_500_000, 11),
        "text" => Bzip2TestData.Text(2_500_000, 5),
        _ => throw new ArgumentException(name),
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Output_is_byte_identical_to_the_input(string tool, int level, string content)
    {
        Skip.IfNot(Bzip2TestData.ToolExists(tool), $"{tool} is not installed");
        byte[] input = Content(content);
        byte[] compressed = Bzip2TestData.Compress(tool, level, input);
        byte[] output = Bzip2TestData.Decode(compressed);
        Assert.Equal(input.Length, output.Length);
        Assert.True(input.AsSpan().SequenceEqual(output), $"{tool} -{level} {content}: output differs from the input");
    }

    [Theory]
    [InlineData("ab", 2_000_000)]
    [InlineData("abc", 1_000_000)]
    [InlineData("\r\n", 300_000)]
    [InlineData("0123456789abcdefghij", 3_000_000)]
    [InlineData("a", 70_000)]
    public void Periodic_blocks_whose_chain_is_shorter_than_the_block_decode(string pattern, int length)
    {
        // The Burrows-Wheeler chain of a periodic block closes before covering the block; its bytes repeat.
        byte[] input = new byte[length];
        for (int i = 0; i < length; i++)
        {
            input[i] = (byte)pattern[i % pattern.Length];
        }

        foreach (string tool in new[] { "bzip2", "lbzip2" })
        {
            foreach (int level in new[] { 1, 9 })
            {
                byte[] output = Bzip2TestData.Decode(Bzip2TestData.Compress(tool, level, input));
                Assert.True(input.AsSpan().SequenceEqual(output), $"{tool} -{level}: '{pattern}' x {length}");
            }
        }
    }

    [Fact]
    public void One_thread_and_many_threads_give_the_same_bytes()
    {
        byte[] input = Bzip2TestData.Text(1_200_000, 21);
        byte[] compressed = Bzip2TestData.Compress("bzip2", 1, input);
        Assert.True(input.AsSpan().SequenceEqual(Bzip2TestData.Decode(compressed, threads: 1)));
        Assert.True(input.AsSpan().SequenceEqual(Bzip2TestData.Decode(compressed, threads: 7)));
    }

    [Fact]
    public void Concatenated_streams_decode_as_one()
    {
        byte[] a = Bzip2TestData.Text(400_000, 1);
        byte[] b = Bzip2TestData.Runs(2);
        byte[] c = Bzip2TestData.Random(300_000, 3);
        byte[] compressed = Bzip2TestData.Concat(
            Bzip2TestData.Compress("bzip2", 1, a),
            Bzip2TestData.Compress("bzip2", 9, Array.Empty<byte>()),
            Bzip2TestData.Compress("lbzip2", 9, b),
            Bzip2TestData.Compress("pbzip2", 2, c));
        byte[] output = Bzip2TestData.Decode(compressed);
        Assert.True(Bzip2TestData.Concat(a, b, c).AsSpan().SequenceEqual(output));
    }

    [Fact]
    public async Task ReadAsync_and_CopyToAsync_give_the_same_bytes()
    {
        byte[] input = Bzip2TestData.Text(900_000, 12);
        byte[] compressed = Bzip2TestData.Compress("lbzip2", 1, input);
        await using (var stream = new Bzip2DecoderStream(new MemoryStream(compressed)))
        {
            var output = new MemoryStream();
            await stream.CopyToAsync(output);
            Assert.True(input.AsSpan().SequenceEqual(output.ToArray()));
            Assert.Equal(compressed.Length, stream.CompressedBytesRead);
            Assert.Equal(input.Length, stream.Position);
        }

        await using (var stream = new Bzip2DecoderStream(new MemoryStream(compressed)))
        {
            var output = new MemoryStream();
            var buffer = new byte[4093];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                output.Write(buffer, 0, n);
            }

            Assert.True(input.AsSpan().SequenceEqual(output.ToArray()));
        }
    }

    [Fact]
    public async Task Disposing_before_the_end_stops_the_decoder_and_closes_the_input()
    {
        byte[] input = Bzip2TestData.Text(3_000_000, 13);
        byte[] compressed = Bzip2TestData.Compress("bzip2", 1, input);
        var source = new MemoryStream(compressed);
        var stream = new Bzip2DecoderStream(source, new Bzip2DecoderOptions { Threads = 2 });
        var head = new byte[1000];
        stream.ReadExactly(head);
        Assert.True(input.AsSpan(0, 1000).SequenceEqual(head));
        var dispose = Task.Run(stream.Dispose);
        Assert.True(await Task.WhenAny(dispose, Task.Delay(TimeSpan.FromSeconds(30))) == dispose, "Dispose did not return");
        Assert.False(source.CanRead);
        Assert.Throws<ObjectDisposedException>(() => stream.ReadByte());

        var kept = new MemoryStream(compressed);
        new Bzip2DecoderStream(kept, leaveOpen: true).Dispose();
        Assert.True(kept.CanRead);
    }

    [Fact]
    public void A_flipped_bit_is_reported_with_the_source_and_the_block_position()
    {
        byte[] input = Bzip2TestData.Text(1_000_000, 31);
        byte[] compressed = Bzip2TestData.Compress("bzip2", 1, input);
        var random = new Random(5);
        for (int trial = 0; trial < 25; trial++)
        {
            byte[] damaged = (byte[])compressed.Clone();
            // Any bit but the final byte's (its low bits are padding).
            int bit = random.Next(4 * 8, (damaged.Length - 1) * 8);
            damaged[bit >> 3] ^= (byte)(0x80 >> (bit & 7));
            var ex = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(damaged, source: "/data/opinions.csv.bz2"));
            Assert.Equal(BulkErrorKind.InvalidData, ex.Kind);
            Assert.Contains("/data/opinions.csv.bz2", ex.Message);
            Assert.Matches(@"compressed byte \d+ \(bit [0-7]\)", ex.Message);
        }
    }

    [Fact]
    public void A_flipped_bit_in_a_block_names_that_block()
    {
        byte[] input = Bzip2TestData.Text(1_000_000, 32);
        byte[] compressed = Bzip2TestData.Compress("bzip2", 1, input);
        long[] blocks = BlockStarts(compressed);
        Assert.True(blocks.Length >= 5, "expected several blocks");
        long target = blocks[3];
        long middle = (target + blocks[4]) / 2;
        byte[] damaged = (byte[])compressed.Clone();
        damaged[middle >> 3] ^= 0x10;
        var ex = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(damaged, source: "x.bz2"));
        Assert.Contains($"block 4 at compressed byte {target >> 3} (bit {target & 7})", ex.Message);
    }

    [Fact]
    public void A_truncated_file_is_reported()
    {
        byte[] input = Bzip2TestData.Text(600_000, 41);
        byte[] compressed = Bzip2TestData.Compress("bzip2", 1, input);
        long[] blocks = BlockStarts(compressed);
        foreach (int length in new[] { 3, 4, 5, 20, compressed.Length / 3, compressed.Length / 2, (int)(blocks[^1] >> 3) + 7, compressed.Length - 11, compressed.Length - 5, compressed.Length - 1 })
        {
            byte[] cut = compressed.AsSpan(0, length).ToArray();
            var ex = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(cut, source: "cut.bz2"));
            Assert.Equal(BulkErrorKind.InvalidData, ex.Kind);
            Assert.StartsWith("cut.bz2: ", ex.Message);
        }

        var middle = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(compressed.AsSpan(0, (int)((blocks[2] + blocks[3]) / 16)).ToArray(), source: "cut.bz2"));
        Assert.Contains($"block 3 at compressed byte {blocks[2] >> 3} (bit {blocks[2] & 7}) is cut short", middle.Message);
    }

    [Fact]
    public void Data_that_is_not_bzip2_is_refused()
    {
        var ex = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(Bzip2TestData.Text(10_000, 1), source: "plain.csv"));
        Assert.Equal(BulkErrorKind.InvalidData, ex.Kind);
        Assert.Contains("plain.csv: not a bzip2 stream", ex.Message);

        var empty = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(Array.Empty<byte>(), source: "empty.bz2"));
        Assert.Contains("empty.bz2", empty.Message);

        // A valid header followed by garbage.
        byte[] garbage = Bzip2TestData.Concat("BZh9"u8.ToArray(), Bzip2TestData.Random(50_000, 3));
        var bad = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(garbage, source: "garbage.bz2"));
        Assert.Contains("compressed byte 4 (bit 0)", bad.Message);

        // Trailing data after a complete stream.
        byte[] trailing = Bzip2TestData.Concat(Bzip2TestData.Compress("bzip2", 9, new byte[] { 1, 2, 3 }), "junk"u8.ToArray());
        var after = Assert.Throws<BulkDataException>(() => Bzip2TestData.Decode(trailing, source: "trailing.bz2"));
        Assert.Contains("after the end of the bzip2 stream", after.Message);
    }

    [SkippableFact]
    public void Differential_against_bzip2_d()
    {
        Skip.IfNot(Bzip2TestData.ToolExists("bzip2"), "bzip2 is not installed");
        var random = new Random(2024);
        for (int trial = 0; trial < 24; trial++)
        {
            int size = random.Next(6) switch
            {
                0 => random.Next(0, 20),
                1 => random.Next(20, 5_000),
                2 => random.Next(5_000, 200_000),
                _ => random.Next(200_000, 1_200_000),
            };

            // A mix of alphabets and run structure, so that tables, selectors and runs vary.
            int alphabet = random.Next(1, 257);
            int maxRun = random.Next(1, 600);
            var input = new byte[size];
            for (int i = 0; i < size;)
            {
                byte b = (byte)random.Next(alphabet);
                int run = random.Next(3) == 0 ? random.Next(1, maxRun) : 1;
                for (int k = 0; k < run && i < size; k++)
                {
                    input[i++] = b;
                }
            }

            int level = random.Next(1, 10);
            byte[] compressed = Bzip2TestData.Compress("bzip2", level, input);
            byte[] theirs = Bzip2TestData.Run("bzip2", "-d -c", compressed);
            byte[] ours = Bzip2TestData.Decode(compressed, threads: random.Next(1, 4));
            Assert.True(theirs.AsSpan().SequenceEqual(ours), $"trial {trial}: size {size}, alphabet {alphabet}, max run {maxRun}, level {level}");
            Assert.True(input.AsSpan().SequenceEqual(ours));
        }
    }

    /// <summary>Bit offsets of the block magics of a file written by bzip2 (found by a plain bit-by-bit scan).</summary>
    internal static long[] BlockStarts(byte[] compressed)
    {
        var starts = new List<long>();
        ulong window = 0;
        for (long bit = 0; bit < compressed.Length * 8L; bit++)
        {
            window = ((window << 1) | (uint)((compressed[bit >> 3] >> (7 - (int)(bit & 7))) & 1)) & 0xFFFF_FFFF_FFFF;
            if (bit >= 47 && window == 0x314159265359)
            {
                starts.Add(bit - 47);
            }
        }

        return starts.ToArray();
    }
}
