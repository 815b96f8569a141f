using Amazon.CDK;
using StudentPerformance.Infra.CiIdentity;
using StudentPerformance.Infra.Hosts;
using StudentPerformance.Infra.Registry;

namespace StudentPerformance.Infra;

/// <summary>The four stacks, each deployable alone: none reads another's outputs.</summary>
public static class InfraApp
{
    /// <summary>CDK context key choosing the fleet's load balancer: <c>nlb</c> (default) or <c>alb</c>.</summary>
    public const string FleetLoadBalancerContextKey = "fleetLoadBalancer";

    public static void AddStacks(App app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var loadBalancer = app.Node.TryGetContext(FleetLoadBalancerContextKey) as string ?? "nlb";
        var kind = loadBalancer.ToUpperInvariant() switch
        {
            "NLB" => FleetLoadBalancer.Nlb,
            "ALB" => FleetLoadBalancer.Alb,
            _ => throw new ArgumentException(
                $"Context '{FleetLoadBalancerContextKey}' is '{loadBalancer}'; expected 'nlb' or 'alb'.", nameof(app)),
        };

        _ = new RegistryStack(app, "Registry");
        _ = new CiIdentityStack(app, "CiIdentity");
        _ = new HostStack(app, "Host");
        _ = new FleetStack(app, "Fleet", kind);
    }
}
