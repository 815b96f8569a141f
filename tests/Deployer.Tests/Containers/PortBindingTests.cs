using StudentPerformance.Deployer.Containers;

namespace Deployer.Tests.Containers;

public class PortBindingTests
{
    [Theory]
    [InlineData("8000:8000", "0.0.0.0", 8000, 8000)]
    [InlineData("127.0.0.1:18000:8000", "127.0.0.1", 18000, 8000)]
    [InlineData("9000:8000/tcp", "0.0.0.0", 9000, 8000)]
    public void TryParse_ValidBinding_Parses(string text, string ip, int host, int container)
    {
        Assert.True(PortBinding.TryParse(text, "0.0.0.0", out var binding));
        Assert.Equal(new PortBinding(ip, host, container), binding);
    }

    [Theory]
    [InlineData("")]
    [InlineData("8000")]
    [InlineData("abc:8000")]
    [InlineData("8000:0")]
    [InlineData("70000:8000")]
    [InlineData("not-an-ip:8000:8000")]
    public void TryParse_InvalidBinding_Fails(string text)
    {
        Assert.False(PortBinding.TryParse(text, "0.0.0.0", out _));
    }

    [Fact]
    public void Managed_Spec_PinsTheDigestAndLabelsIt()
    {
        var options = new ContainerSpecOptions { Name = "predictor", HostIp = "127.0.0.1", MemoryMiB = 256, Cpus = 1.5 };

        var spec = ContainerSpecFactory.Managed(options, "127.0.0.1:5000/sp", "sha256:abc", "r1");

        Assert.Equal("127.0.0.1:5000/sp@sha256:abc", spec.Image);
        // The public binding, and the admin port (the input sample) on the host's loopback at a port the engine picks.
        Assert.Equal([new PortBinding("127.0.0.1", 8000, 8000), new PortBinding("127.0.0.1", 0, 8081)], spec.Ports);
        Assert.Equal("sha256:abc", spec.Labels[ContainerLabels.Digest]);
        Assert.Equal("unless-stopped", spec.RestartPolicy);
        Assert.Equal(256L * 1024 * 1024, spec.MemoryBytes);
        Assert.Equal(1_500_000_000L, spec.NanoCpus);
    }

    [Fact]
    public void Managed_AdminPortOffOrPublishedPublicly_AddsNoLoopbackBinding()
    {
        var off = ContainerSpecFactory.Managed(new ContainerSpecOptions { AdminPort = 0 }, "sp", "sha256:abc", "r1");
        var listed = ContainerSpecFactory.Managed(new ContainerSpecOptions { Ports = ["8000:8000", "127.0.0.1:9081:8081"] }, "sp", "sha256:abc", "r1");

        Assert.Equal([new PortBinding("0.0.0.0", 8000, 8000)], off.Ports);
        Assert.Equal([new PortBinding("0.0.0.0", 8000, 8000), new PortBinding("127.0.0.1", 9081, 8081)], listed.Ports);
    }

    [Fact]
    public void Preflight_Spec_UsesAnEphemeralLoopbackPortAndNoRestarts()
    {
        var options = new ContainerSpecOptions { Name = "predictor", Ports = ["0.0.0.0:8000:8000", "8080:8080"] };

        var spec = ContainerSpecFactory.Preflight(options, "127.0.0.1:5000/sp", "sha256:abc", "r1");

        Assert.Equal("predictor-preflight", spec.Name);
        Assert.Equal([new PortBinding("127.0.0.1", 0, 8000)], spec.Ports);
        Assert.Equal("no", spec.RestartPolicy);
    }
}
