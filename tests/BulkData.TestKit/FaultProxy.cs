using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BulkData.TestKit;

/// <summary>
/// A TCP proxy in front of the S3 server that injects faults: it can reset connections after a number of
/// response bytes (mid-body), drop the first connections outright, and log every HTTP request line it
/// forwards (so tests can count GETs).
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _upstreamHost;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _logGate = new();
    private readonly StreamWriter? _log;
    private Task? _accept;
    private int _resetsLeft;
    private int _dropsLeft;
    private int _requests;
    private int _resets;

    public FaultProxy(string upstreamHost, int upstreamPort, long resetAfterBytes, int resets, int dropFirst, string? logPath, int port = 0, long bytesPerSecond = 0)
    {
        BytesPerSecond = bytesPerSecond;
        _upstreamHost = upstreamHost;
        _upstreamPort = upstreamPort;
        ResetAfterBytes = resetAfterBytes;
        _resetsLeft = resets;
        _dropsLeft = dropFirst;
        _listener = new TcpListener(IPAddress.Loopback, port);
        if (logPath is not null)
        {
            _log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        }
    }

    public long ResetAfterBytes { get; }

    /// <summary>For this long after <see cref="Start"/>, every request is answered 503 SlowDown (as S3 throttles), with <see cref="RetryAfterSeconds"/>.</summary>
    public TimeSpan SlowDownFor { get; init; }

    /// <summary>The Retry-After (seconds) of the 503 answers; 0 sends none.</summary>
    public int RetryAfterSeconds { get; init; }

    private DateTime _slowDownUntil;

    /// <summary>At <see cref="ResetAfterBytes"/>, stop sending and hold the connection open (a stalled server) instead of resetting it.</summary>
    public bool Stall { get; init; }

    /// <summary>Response bytes per second per connection; 0 for no limit.</summary>
    public long BytesPerSecond { get; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Requests => Volatile.Read(ref _requests);

    public int Resets => Volatile.Read(ref _resets);

    public void Start()
    {
        _slowDownUntil = DateTime.UtcNow + SlowDownFor;
        _listener.Start();
        _accept = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            if (Interlocked.Decrement(ref _dropsLeft) >= 0)
            {
                Log("DROP connection");
                Reset(client);
                continue;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        if (DateTime.UtcNow < _slowDownUntil)
        {
            await SlowDownAsync(client);
            return;
        }

        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(_upstreamHost, _upstreamPort, _stop.Token);
        }
        catch (Exception)
        {
            Reset(client);
            return;
        }

        using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var up = PumpRequestsAsync(client, upstream, done.Token);
        var down = PumpResponsesAsync(upstream, client, done.Token);
        await Task.WhenAny(up, down);
        done.Cancel();
        Reset(client);
        Reset(upstream);
        try
        {
            await Task.WhenAll(up, down);
        }
        catch (Exception)
        {
        }
    }

    /// <summary>Answers each request of the connection with S3's 503 SlowDown while the storm lasts, then closes it.</summary>
    private async Task SlowDownAsync(Socket client)
    {
        try
        {
            var buffer = new byte[64 * 1024];
            var head = new StringBuilder();
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                int n = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    return;
                }

                head.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            string line = head.ToString().Split("\r\n")[0];
            Interlocked.Increment(ref _requests);
            Log($"SLOWDOWN {(DateTime.UtcNow - (_slowDownUntil - SlowDownFor)).TotalMilliseconds:0} {line}");
            const string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            string retry = RetryAfterSeconds > 0 ? $"Retry-After: {RetryAfterSeconds}\r\n" : string.Empty;
            string response = $"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n{retry}Content-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
            await client.SendAsync(Encoding.ASCII.GetBytes(response), SocketFlags.None, _stop.Token);
            client.Shutdown(SocketShutdown.Both);
        }
        catch (Exception)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task PumpRequestsAsync(Socket from, Socket to, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        var line = new StringBuilder();
        while (true)
        {
            int n = await from.ReceiveAsync(buffer, SocketFlags.None, ct);
            if (n == 0)
            {
                return;
            }

            // Request lines ("GET /bucket/key HTTP/1.1") are logged; GET and HEAD carry no body.
            for (int i = 0; i < n; i++)
            {
                char c = (char)buffer[i];
                if (c == '\n')
                {
                    string text = line.ToString().TrimEnd('\r');
                    if (System.Text.RegularExpressions.Regex.IsMatch(text, @"^(GET|HEAD|PUT|POST|DELETE) \S+ HTTP/1\.[01]$"))
                    {
                        Interlocked.Increment(ref _requests);
                        Log(text);
                    }

                    line.Clear();
                }
                else if (line.Length < 4096)
                {
                    line.Append(c);
                }
            }

            await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, ct);
        }
    }

    private async Task PumpResponsesAsync(Socket from, Socket to, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        long sent = 0;
        bool armed = ResetAfterBytes > 0 && TryTakeReset();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            int want = buffer.Length;
            if (BytesPerSecond > 0)
            {
                want = (int)Math.Min(want, Math.Max(1024, BytesPerSecond / 20));
                double due = sent / (double)BytesPerSecond;
                double ahead = due - clock.Elapsed.TotalSeconds;
                if (ahead > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(ahead), ct);
                }
            }

            if (armed)
            {
                want = (int)Math.Min(want, Math.Max(1, ResetAfterBytes - sent));
            }

            int n = await from.ReceiveAsync(buffer.AsMemory(0, want), SocketFlags.None, ct);
            if (n == 0)
            {
                return;
            }

            await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, ct);
            sent += n;
            if (armed && sent >= ResetAfterBytes && Stall)
            {
                Interlocked.Increment(ref _resets);
                Log($"STALL after {sent} response bytes");
                await Task.Delay(Timeout.Infinite, ct);
            }

            if (armed && sent >= ResetAfterBytes)
            {
                Interlocked.Increment(ref _resets);
                Log($"RESET after {sent} response bytes");
                Reset(to);
                return;
            }
        }
    }

    private bool TryTakeReset()
    {
        while (true)
        {
            int left = Volatile.Read(ref _resetsLeft);
            if (left < 0)
            {
                return true; // unlimited
            }

            if (left == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _resetsLeft, left - 1, left) == left)
            {
                return true;
            }
        }
    }

    private void Log(string text)
    {
        if (_log is null)
        {
            return;
        }

        lock (_logGate)
        {
            _log.WriteLine(text);
        }
    }

    private static void Reset(Socket s)
    {
        try
        {
            s.LingerState = new LingerOption(true, 0);
            s.Close();
        }
        catch (Exception)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        if (_accept is not null)
        {
            await _accept;
        }

        _log?.Dispose();
    }
}
