using Xunit;

namespace BulkData.Engine.Tests.Common;

public sealed class BoundedRunnerTests
{
    [Fact]
    public async Task At_most_the_limit_run_at_once_each_in_a_slot_of_its_own()
    {
        int running = 0, peak = 0;
        var slotsInUse = new HashSet<int>();
        var started = new List<int>();
        await BoundedRunner.RunAsync(Enumerable.Range(0, 12), 3, async (item, slot) =>
        {
            lock (slotsInUse)
            {
                Assert.True(slotsInUse.Add(slot), $"slot {slot} used twice at once");
                Assert.InRange(slot, 0, 2);
                started.Add(item);
            }

            int now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Delay(20);
            Interlocked.Decrement(ref running);
            lock (slotsInUse)
            {
                slotsInUse.Remove(slot);
            }
        }, CancellationToken.None);

        Assert.Equal(3, peak);
        Assert.Equal(Enumerable.Range(0, 12), started.Order());
    }

    [Fact]
    public async Task Cancelled_no_new_item_starts_and_started_ones_finish_first()
    {
        using var cts = new CancellationTokenSource();
        var finished = new List<int>();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await BoundedRunner.RunAsync(Enumerable.Range(0, 10), 2, async (item, _) =>
        {
            if (item == 1)
            {
                secondStarted.SetResult();
            }

            if (item == 0)
            {
                await secondStarted.Task; // both slots are held now: nothing after items 0 and 1 can start
                cts.Cancel();
                cancelled.SetResult();
            }

            await cancelled.Task;
            await Task.Delay(20, CancellationToken.None);
            lock (finished)
            {
                finished.Add(item);
            }
        }, cts.Token);

        Assert.Equal(new[] { 0, 1 }, finished.Order());
    }

    [Fact]
    public async Task A_failing_item_does_not_stop_the_others_and_its_error_comes_out_at_the_end()
    {
        var done = new List<int>();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => BoundedRunner.RunAsync(Enumerable.Range(0, 5), 2, async (item, _) =>
        {
            await Task.Yield();
            if (item == 0)
            {
                throw new InvalidOperationException("item 0");
            }

            lock (done)
            {
                done.Add(item);
            }
        }, CancellationToken.None));

        Assert.Equal("item 0", error.Message);
        Assert.Equal(new[] { 1, 2, 3, 4 }, done.Order());
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}

public sealed class ProgressReporterTests
{
    [Fact]
    public void Updates_are_throttled_ids_are_unique_and_dispose_completes_open_bars()
    {
        var recorder = new ListReporter();
        int parentId, childId;
        using (var progress = new ProgressReporter(recorder, TimeSpan.FromHours(1)))
        {
            var parent = progress.Begin("all");
            var child = progress.Begin("one", parent);
            parentId = parent.Id;
            childId = child.Id;
            for (int i = 0; i < 100; i++)
            {
                child.Status($"{i}");
            }

            child.Status("paused", force: true);
        }

        Assert.NotEqual(parentId, childId);
        var child_ = recorder.Updates.Where(u => u.ActivityId == childId).ToList();
        Assert.Equal(new[] { "0", "paused", "Done" }, child_.Select(u => u.Status));
        Assert.All(child_, u => Assert.Equal(parentId, u.ParentActivityId));
        Assert.True(child_[^1].Completed);
        Assert.Contains(recorder.Updates, u => u.ActivityId == parentId && u.Completed);
    }

    [Fact]
    public void Two_reporters_never_share_an_id()
    {
        var recorder = new ListReporter();
        using var a = new ProgressReporter(recorder);
        using var b = new ProgressReporter(recorder);
        Assert.NotEqual(a.Begin("a").Id, b.Begin("b").Id);
    }
}
