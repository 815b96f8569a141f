using Amazon.CDK;
using Constructs;

namespace StudentPerformance.Infra.Hosts;

/// <summary>The deploy-time parameters a host and a fleet share.</summary>
internal sealed class HostParameters
{
    private HostParameters(CfnParameter allowedCidr, CfnParameter deployerImageDigest, CfnParameter edgeImageDigest, CfnParameter instanceType)
    {
        AllowedCidr = allowedCidr;
        DeployerImageDigest = deployerImageDigest;
        EdgeImageDigest = edgeImageDigest;
        InstanceType = instanceType;
    }

    /// <summary>Who may reach the public ports. No default: opening to the internet is a decision, not an accident.</summary>
    public CfnParameter AllowedCidr { get; }

    /// <summary>The deployer image's digest in ECR: hosts run exactly that build, never whatever a tag says now.</summary>
    public CfnParameter DeployerImageDigest { get; }

    /// <summary>
    /// The edge proxy image's digest in ECR (<c>Deployer:Edge:Image</c>): pinned like the deployer, because the deployer
    /// replaces the edge container whenever the image it names changes, and that restart closes client connections.
    /// </summary>
    public CfnParameter EdgeImageDigest { get; }

    public CfnParameter InstanceType { get; }

    public static HostParameters Declare(Construct scope) => new(
        new CfnParameter(scope, "AllowedCidr", new CfnParameterProps
        {
            Type = "String",
            Description = $"IPv4 CIDR allowed to reach the public ports ({string.Join(", ", ServiceShape.PublicPorts)}), e.g. 203.0.113.0/24",
            AllowedPattern = "^(\\d{1,3}\\.){3}\\d{1,3}/(\\d|[12]\\d|3[0-2])$",
            ConstraintDescription = "an IPv4 CIDR such as 203.0.113.0/24",
        }),
        new CfnParameter(scope, "DeployerImageDigest", new CfnParameterProps
        {
            Type = "String",
            Description = $"Digest of the deployer image in the {ServiceShape.DeployerRepository} repository (sha256:...)",
            AllowedPattern = "^sha256:[a-f0-9]{64}$",
            ConstraintDescription = "an image digest: sha256: and 64 lowercase hex digits",
        }),
        new CfnParameter(scope, "EdgeImageDigest", new CfnParameterProps
        {
            Type = "String",
            Description = $"Digest of the edge proxy image in the {ServiceShape.EdgeRepository} repository (sha256:...)",
            AllowedPattern = "^sha256:[a-f0-9]{64}$",
            ConstraintDescription = "an image digest: sha256: and 64 lowercase hex digits",
        }),
        new CfnParameter(scope, "InstanceType", new CfnParameterProps
        {
            Type = "String",
            Default = "t3.small",
            Description = "EC2 instance type: images are built in CI, so the host only runs the predictor, the edge and the deployer",
        }));
}
