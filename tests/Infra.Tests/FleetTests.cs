using System.Text.Json;
using Amazon.CDK;
using Amazon.CDK.Assertions;

namespace StudentPerformance.Infra.Tests;

public sealed class FleetTests
{
    [Fact]
    public void Nlb_ForwardsBothPublicPortsAndChecksReadinessOverHttp()
    {
        var template = SynthesizedApp.Default.Assertions("Fleet");

        template.ResourceCountIs("AWS::ElasticLoadBalancingV2::LoadBalancer", 1);
        template.HasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", new Dictionary<string, object>
        {
            ["Type"] = "network",
            ["Scheme"] = "internet-facing",
        });
        var groups = SynthesizedApp.Default.Resources("Fleet", "AWS::ElasticLoadBalancingV2::TargetGroup");
        Assert.Equal([8000, 8080], groups.Select(g => g.Resource.GetProperty("Properties").GetProperty("Port").GetInt32()).Order());
        foreach (var (_, group) in groups)
        {
            var properties = group.GetProperty("Properties");
            Assert.Equal("TCP", properties.GetProperty("Protocol").GetString());
            Assert.Equal("HTTP", properties.GetProperty("HealthCheckProtocol").GetString());
            Assert.Equal("8080", properties.GetProperty("HealthCheckPort").GetString());
            Assert.Equal("/readyz", properties.GetProperty("HealthCheckPath").GetString());
            Assert.Equal("200", properties.GetProperty("Matcher").GetProperty("HttpCode").GetString());
        }
    }

    [Fact]
    public void Alb_GrpcTargetGroupChecksGrpcHealthWithCodeZeroBehindTls()
    {
        var template = SynthesizedApp.WithAlb.Assertions("Fleet");

        template.HasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", new Dictionary<string, object>
        {
            ["Port"] = 8000,
            ["Protocol"] = "HTTP",
            ["ProtocolVersion"] = "GRPC",
            ["HealthCheckPath"] = "/grpc.health.v1.Health/Check",
            ["Matcher"] = new Dictionary<string, object> { ["GrpcCode"] = "0" },
        });
        template.HasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", new Dictionary<string, object>
        {
            ["Port"] = 8080,
            ["HealthCheckPath"] = "/readyz",
            ["Matcher"] = new Dictionary<string, object> { ["HttpCode"] = "200" },
        });
        var listeners = SynthesizedApp.WithAlb.Resources("Fleet", "AWS::ElasticLoadBalancingV2::Listener");
        Assert.Equal(2, listeners.Count);
        Assert.All(listeners, l => Assert.Equal("HTTPS", l.Resource.GetProperty("Properties").GetProperty("Protocol").GetString()));
        template.HasParameter("CertificateArn", new Dictionary<string, object> { ["Type"] = "String" });
    }

    [Fact]
    public void AutoScalingGroup_KeepsTwoHostsOverTwoAzsAndRollsLaunchTemplateChangesOneAtATime()
    {
        var template = SynthesizedApp.Default.Assertions("Fleet");

        template.HasResource("AWS::AutoScaling::AutoScalingGroup", new Dictionary<string, object>
        {
            ["Properties"] = Match.ObjectLike(new Dictionary<string, object>
            {
                ["MinSize"] = "2",
                ["HealthCheckType"] = "ELB",
                ["LaunchTemplate"] = Match.ObjectLike(new Dictionary<string, object> { ["LaunchTemplateId"] = Match.AnyValue() }),
            }),
            ["CreationPolicy"] = new Dictionary<string, object>
            {
                ["ResourceSignal"] = new Dictionary<string, object> { ["Count"] = 2, ["Timeout"] = "PT15M" },
            },
            ["UpdatePolicy"] = Match.ObjectLike(new Dictionary<string, object>
            {
                ["AutoScalingRollingUpdate"] = Match.ObjectLike(new Dictionary<string, object>
                {
                    ["MaxBatchSize"] = 1,
                    ["MinInstancesInService"] = 2,
                    ["WaitOnResourceSignals"] = true,
                }),
            }),
        });
        var (_, group) = Assert.Single(SynthesizedApp.Default.Resources("Fleet", "AWS::AutoScaling::AutoScalingGroup"));
        var subnets = group.GetProperty("Properties").GetProperty("VPCZoneIdentifier").EnumerateArray()
            .Select(s => s.GetProperty("Ref").GetString()).ToList();
        Assert.Equal(2, subnets.Count);
        // One subnet per AZ: the two subnets sit in the first and second zone of Fn::GetAZs.
        var zones = subnets.Select(id => JsonSerializer.Serialize(SynthesizedApp.Default.Json("Fleet").GetProperty("Resources")
            .GetProperty(id!).GetProperty("Properties").GetProperty("AvailabilityZone"))).ToList();
        Assert.Equal(2, zones.Distinct().Count());
    }

    [Fact]
    public void FleetUserData_StaggersPollsAndSignalsReadinessToTheGroup()
    {
        var script = SynthesizedApp.Default.UserData("Fleet");

        Assert.Contains("Deployer__PollJitter: \"00:00:30\"", script, StringComparison.Ordinal);
        Assert.Contains("--logical-resource-id FleetAutoScalingGroup", script, StringComparison.Ordinal);
        Assert.Contains("trap 'signal FAILURE' ERR", script, StringComparison.Ordinal);
        Assert.Contains("curl -fsS -o /dev/null http://127.0.0.1:8080/readyz", script, StringComparison.Ordinal);
        var statements = Policies.Statements(SynthesizedApp.Default, "Fleet").ToList();
        var signal = Assert.Single(statements, s => Policies.Actions(s).Contains("cloudformation:SignalResource"));
        Assert.Equal("""{"Ref":"AWS::StackId"}""", JsonSerializer.Serialize(signal.GetProperty("Resource")));
    }

    [Fact]
    public void AddStacks_UnknownLoadBalancer_FailsNamingTheContextKey()
    {
        var app = new App(new AppProps { Context = new Dictionary<string, object> { ["fleetLoadBalancer"] = "gwlb" } });

        var error = Assert.Throws<ArgumentException>(() => InfraApp.AddStacks(app));

        Assert.Contains("fleetLoadBalancer", error.Message, StringComparison.Ordinal);
        Assert.Contains("'gwlb'", error.Message, StringComparison.Ordinal);
    }
}
