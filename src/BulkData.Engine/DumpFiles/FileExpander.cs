using BulkData.Engine.Compression;
using System.Diagnostics;

namespace BulkData.Engine.DumpFiles;

/// <summary>Options of <see cref="FileExpander.ExpandAsync"/>.</summary>
public sealed record ExpandOptions
{
    /// <summary>Keep the .bz2 file once its expanded form is complete (by default it is deleted).</summary>
    public bool KeepCompressed { get; init; }

    /// <summary>Blocks decoded at once; 0 means one per processor.</summary>
    public int Threads { get; init; }

    /// <summary>Replace an existing file at the destination (otherwise the file is skipped).</summary>
    public bool Force { get; init; }

    /// <summary>Fail at once, naming the owner, when another run holds a destination folder's lock (instead of waiting for it).</summary>
    public bool NoWait { get; init; }
}

/// <summary>What expanding one file did.</summary>
internal sealed record ExpandResult
{
    public required string SourcePath { get; init; }

    public required string DestinationPath { get; init; }

    /// <summary>The destination already existed and was left alone (no -Force).</summary>
    public bool Skipped { get; init; }

    public long CompressedBytes { get; init; }

    public long ExpandedBytes { get; init; }

    /// <summary>Whether the .bz2 file was deleted after expanding.</summary>
    public bool SourceDeleted { get; init; }

    public TimeSpan Duration { get; init; }
}

/// <summary>Expands .bz2 files to disk: verified, atomically, on all cores.</summary>
internal static class FileExpander
{
    private const int ProgressInterval = 4 << 20;

    /// <summary>
    /// Expands <paramref name="sourcePath"/> to <paramref name="destinationPath"/>: writes
    /// <c>destinationPath + FetchLayout.ExpandingSuffix</c>, checks every block CRC and the stream CRC,
    /// flushes to disk and renames; then deletes the source unless <see cref="ExpandOptions.KeepCompressed"/>.
    /// On any failure the temporary file is removed and the source kept. An existing destination is left
    /// alone (Skipped) unless <see cref="ExpandOptions.Force"/>.
    /// </summary>
    public static async Task<ExpandResult> ExpandAsync(string sourcePath, string destinationPath, ExpandOptions options, IProgress<long>? compressedBytesProgress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        string source = Path.GetFullPath(sourcePath);
        string destination = Path.GetFullPath(destinationPath);
        if (string.Equals(source, destination, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The expanded file '{destination}' would replace its own source.", source);
        }

        if (!File.Exists(source))
        {
            throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"The compressed file '{source}' does not exist.", source);
        }

        long compressedSize = new FileInfo(source).Length;
        if (File.Exists(destination) && !options.Force)
        {
            return new ExpandResult { SourcePath = source, DestinationPath = destination, Skipped = true, CompressedBytes = compressedSize, ExpandedBytes = new FileInfo(destination).Length };
        }

        var clock = Stopwatch.StartNew();
        string temporary = FetchLayout.ExpandingPath(destination);
        long written = 0;
        try
        {
            var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            var pipeline = new Bzip2Pipeline(input, options.Threads, source);
            try
            {
                await using var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                long lastReported = 0;
                while (await pipeline.ReadAsync(ct).ConfigureAwait(false) is { } chunk)
                {
                    try
                    {
                        await output.WriteAsync(chunk.Buffer.AsMemory(0, chunk.Length), ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        System.Buffers.ArrayPool<byte>.Shared.Return(chunk.Buffer);
                    }

                    written += chunk.Length;
                    long position = pipeline.CompressedBytesDelivered;
                    if (compressedBytesProgress is not null && position - lastReported >= ProgressInterval)
                    {
                        compressedBytesProgress.Report(position);
                        lastReported = position;
                    }
                }

                await output.FlushAsync(ct).ConfigureAwait(false);
                output.Flush(flushToDisk: true);
            }
            finally
            {
                pipeline.Dispose();
                await input.DisposeAsync().ConfigureAwait(false);
            }

            ct.ThrowIfCancellationRequested();
            File.Move(temporary, destination, overwrite: options.Force);
        }
        catch
        {
            FetchLayout.TryDelete(temporary);
            throw;
        }

        compressedBytesProgress?.Report(compressedSize);
        bool deleted = false;
        if (!options.KeepCompressed)
        {
            File.Delete(source);
            deleted = true;
        }

        return new ExpandResult
        {
            SourcePath = source,
            DestinationPath = destination,
            CompressedBytes = compressedSize,
            ExpandedBytes = written,
            SourceDeleted = deleted,
            Duration = clock.Elapsed,
        };
    }
}
