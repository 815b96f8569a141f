using Deployer.Tests.Support;
using Grpc.Net.Client;
using StudentPerformance.Deployer.Edge;

namespace Deployer.Tests.Edge;

/// <summary>The deployer's edge proxy against Debian's haproxy on loopback, with two real Kestrel slots behind it.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(RealEdgeSwitches.Name)]
public sealed class HaproxyEdgeProxyTests : IAsyncLifetime
{
    private EdgeRig _rig = null!;

    public async Task InitializeAsync()
    {
        _rig = await EdgeRig.StartAsync(o => o.DrainTimeout = TimeSpan.FromSeconds(2));
        await _rig.StartHaproxyAsync();
    }

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task GetState_FreshEdge_BlueIsLiveAndGreenInMaintenance()
    {
        var state = await _rig.Proxy.GetStateAsync(CancellationToken.None);

        Assert.NotNull(state);
        Assert.Equal(EdgeSlot.Blue, state.Live);
        Assert.Equal(4, state.Servers.Count);
        Assert.All(state.Servers.Where(s => s.Slot == EdgeSlot.Green), s => Assert.Equal(EdgeAdminState.Maintenance, s.Admin));
        Assert.Contains(state.Servers, s => s.Slot == EdgeSlot.Blue && s.Address == $"127.0.0.1:{_rig.Blue.GrpcPort}");
    }

    [Fact]
    public async Task Switch_ToGreen_NewCallsOnTheSameChannelGoToGreen()
    {
        using var channel = GrpcChannel.ForAddress(_rig.GrpcAddress);
        Assert.Equal("blue", await EdgeRig.CheckAsync(channel));
        using var http = new HttpClient { BaseAddress = _rig.HttpAddress };
        Assert.Equal("blue", await http.GetStringAsync("/slot"));

        await _rig.Proxy.SwitchAsync(_rig.Layout.WithLive(EdgeSlot.Green), CancellationToken.None);

        // The client's HTTP/2 connection ends at the edge: it stays open, and its next call goes to green.
        Assert.Equal("green", await EdgeRig.CheckAsync(channel));
        Assert.Equal("green", await http.GetStringAsync("/slot"));
        var state = await _rig.Proxy.GetStateAsync(CancellationToken.None);
        Assert.Equal(EdgeSlot.Green, state!.Live);
        Assert.All(state.Servers.Where(s => s.Slot == EdgeSlot.Blue), s => Assert.Equal(EdgeAdminState.Drain, s.Admin));
        Assert.Equal(EdgeSlot.Green, HaproxyConfig.ReadLiveSlot(_rig.ConfigPath));
    }

    [Fact]
    public async Task Switch_BackAndForth_EveryCallSucceeds()
    {
        // Its own edge with the rig's default drain timeout (20 s): the class's 2 s is for the test that cuts a call, and
        // on a loaded machine a Health/Check in flight on the old slot could outlive it and be cut (RST_STREAM CANCEL).
        var rig = await EdgeRig.StartAsync();
        await using var rigDisposal = rig;
        await rig.StartHaproxyAsync();
        using var channel = GrpcChannel.ForAddress(rig.GrpcAddress);
        using var stop = new CancellationTokenSource();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var calls = 0;
        var caller = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await EdgeRig.CheckAsync(channel);
                }
                catch (Exception e)
                {
                    failures.Enqueue(e.Message);
                }

                Interlocked.Increment(ref calls);
            }
        });

        foreach (var slot in new[] { EdgeSlot.Green, EdgeSlot.Blue, EdgeSlot.Green, EdgeSlot.Blue })
        {
            await rig.Proxy.SwitchAsync(rig.Layout.WithLive(slot), CancellationToken.None);
            await rig.Proxy.DrainAsync(slot.Other(), CancellationToken.None);
            Assert.Equal(slot.ServerName(), await EdgeRig.CheckAsync(channel));
        }

        await stop.CancelAsync();
        await caller;
        Assert.True(calls > 0);
        Assert.True(failures.IsEmpty, string.Join('\n', failures) + "\n" + rig.HaproxyOutput);
    }

    [Fact]
    public async Task Switch_NewSlotDiesWhileTheOldOneDrains_ItsStandbyTakesTheCallsThatFollow()
    {
        using var channel = GrpcChannel.ForAddress(_rig.GrpcAddress);
        await _rig.Proxy.SwitchAsync(_rig.Layout.WithLive(EdgeSlot.Green), CancellationToken.None);
        Assert.Equal("green", await EdgeRig.CheckAsync(channel));
        var state = await _rig.Proxy.GetStateAsync(CancellationToken.None);
        Assert.All(state!.Standbys.Where(s => s.Slot == EdgeSlot.Blue), s => Assert.Equal(EdgeAdminState.Ready, s.Admin));
        Assert.All(state.Standbys.Where(s => s.Slot == EdgeSlot.Green), s => Assert.Equal(EdgeAdminState.Maintenance, s.Admin));
        // Green stops as a process does when it dies: its listener closes and its connections go away. The first call
        // may race the closing of the edge's idle connection to green (the edge sends it, green answers GOAWAY and a
        // reset, which HAProxy 2.6 cannot retry); every call after it is the standby's to save. Without the standby
        // every call would fail until the deployer switched back.
        await _rig.Green.DisposeAsync();
        var failures = new List<string>();
        var answers = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            try
            {
                answers.Add(await EdgeRig.CheckAsync(channel));
            }
            catch (Exception e)
            {
                failures.Add(e.Message);
            }
        }

        Assert.True(failures.Count <= 1, string.Join('\n', failures) + "\n" + _rig.HaproxyOutput);
        Assert.True(answers.Count >= 49);
        Assert.All(answers, a => Assert.Equal("blue", a));
    }

    [Fact]
    public async Task Switch_ToSlotThatIsNotReady_ThrowsAndTheOldSlotKeepsServing()
    {
        var rig = await EdgeRig.StartAsync(o => o.SwitchTimeout = TimeSpan.FromSeconds(2));
        await using (rig)
        {
            rig.Green.Ready = false;
            await rig.StartHaproxyAsync();

            await Assert.ThrowsAsync<EdgeSwitchException>(() => rig.Proxy.SwitchAsync(rig.Layout.WithLive(EdgeSlot.Green), CancellationToken.None));

            using var channel = GrpcChannel.ForAddress(rig.GrpcAddress);
            Assert.Equal("blue", await EdgeRig.CheckAsync(channel));
            Assert.Equal(EdgeSlot.Blue, (await rig.Proxy.GetStateAsync(CancellationToken.None))!.Live);
            Assert.Equal(EdgeSlot.Blue, HaproxyConfig.ReadLiveSlot(rig.ConfigPath));
        }
    }

    [Fact]
    public async Task Drain_CallInFlight_WaitsForItToFinish()
    {
        using var http = new HttpClient { BaseAddress = _rig.HttpAddress };
        var slow = http.GetStringAsync("/slow");
        await Probes.WaitUntilAsync(() => Task.FromResult(_rig.Blue.SlowInFlight == 1), TimeSpan.FromSeconds(10), "the slow call to reach blue");
        await _rig.Proxy.SwitchAsync(_rig.Layout.WithLive(EdgeSlot.Green), CancellationToken.None);

        var drain = _rig.Proxy.DrainAsync(EdgeSlot.Blue, CancellationToken.None);
        await Probes.WaitUntilAsync(
            async () => (await _rig.Proxy.GetStateAsync(CancellationToken.None))?.Sessions(EdgeSlot.Blue) == 1,
            TimeSpan.FromSeconds(10), "the edge to count the call in flight on blue");
        Assert.False(drain.IsCompleted);
        _rig.Blue.ReleaseSlow();

        var result = await drain;
        Assert.True(result.Clean);
        Assert.Equal(0, result.CutSessions);
        Assert.Equal("blue", await slow);
        var state = await _rig.Proxy.GetStateAsync(CancellationToken.None);
        Assert.All(state!.Servers.Concat(state.Standbys).Where(s => s.Slot == EdgeSlot.Blue), s => Assert.Equal(EdgeAdminState.Maintenance, s.Admin));
    }

    [Fact]
    public async Task Drain_CallOutlivesTheTimeout_IsCutAndRetriedOnTheLiveSlot()
    {
        using var http = new HttpClient { BaseAddress = _rig.HttpAddress };
        var slow = http.GetStringAsync("/slow");
        await Probes.WaitUntilAsync(() => Task.FromResult(_rig.Blue.SlowInFlight == 1), TimeSpan.FromSeconds(10), "the slow call to reach blue");
        await _rig.Proxy.SwitchAsync(_rig.Layout.WithLive(EdgeSlot.Green), CancellationToken.None);

        var result = await _rig.Proxy.DrainAsync(EdgeSlot.Blue, CancellationToken.None);

        Assert.False(result.Clean);
        Assert.Equal(1, result.CutSessions);
        Assert.Equal(0, (await _rig.Proxy.GetStateAsync(CancellationToken.None))!.Sessions(EdgeSlot.Blue));
        // Blue never answered, so the edge sends the call again (retry-on empty-response), to the live slot.
        await Probes.WaitUntilAsync(() => Task.FromResult(_rig.Green.SlowInFlight == 1), TimeSpan.FromSeconds(10), "the cut call to be retried on green");
        _rig.Green.ReleaseSlow();
        Assert.Equal("green", await slow);
    }

    [Fact]
    public async Task GetState_NothingListening_IsNull()
    {
        var proxy = new HaproxyEdgeProxy(
            Microsoft.Extensions.Options.Options.Create(new EdgeOptions { RuntimeApi = $"127.0.0.1:{LocalRegistry.FreePort()}" }),
            TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<HaproxyEdgeProxy>.Instance);

        Assert.Null(await proxy.GetStateAsync(CancellationToken.None));
    }
}
