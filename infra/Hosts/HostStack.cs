using Amazon.CDK;
using Amazon.CDK.AWS.EC2;
using Constructs;

namespace StudentPerformance.Infra.Hosts;

/// <summary>
/// The original layout, done right: one EC2 instance that runs the predictor and its deployer, reachable on the
/// public ports from one CIDR, administered through SSM Session Manager.
/// </summary>
public sealed class HostStack : Stack
{
    public HostStack(Construct scope, string id, IStackProps? props = null)
        : base(scope, id, props)
    {
        TemplateOptions.Description = "Student Performance: one EC2 host running the predictor and its deployer";

        var parameters = HostParameters.Declare(this);
        var vpc = PublicVpc.Create(this);
        var template = new HostTemplate(this, "Host", new HostTemplateProps { Vpc = vpc, Parameters = parameters });
        foreach (var port in ServiceShape.PublicPorts)
        {
            template.SecurityGroup.AddIngressRule(Peer.Ipv4(parameters.AllowedCidr.ValueAsString), Port.Tcp(port), $"predictor port {port} from AllowedCidr");
        }

        // The instance takes everything from the launch template the fleet also uses; a new template version
        // (a new deployer digest, a changed bootstrap) replaces the instance, which starts fresh from ECR.
        var instance = new CfnInstance(this, "Instance", new CfnInstanceProps
        {
            LaunchTemplate = new CfnInstance.LaunchTemplateSpecificationProperty
            {
                LaunchTemplateId = template.LaunchTemplate.LaunchTemplateId!,
                Version = template.LaunchTemplate.LatestVersionNumber,
            },
            SubnetId = vpc.PublicSubnets[0].SubnetId,
            // One-minute metrics (about $2 a month): a lone host has no load balancer watching it.
            Monitoring = true,
            Tags = [new CfnTag { Key = "Name", Value = "student-performance" }],
        });

        _ = new CfnOutput(this, "InstanceId", new CfnOutputProps
        {
            Description = "Instance id, for SSM: aws ssm start-session --target <id>",
            Value = instance.Ref,
        });
        _ = new CfnOutput(this, "PublicAddress", new CfnOutputProps { Description = "Public IPv4 address", Value = instance.AttrPublicIp });
        _ = new CfnOutput(this, "GrpcUrl", new CfnOutputProps
        {
            Description = "gRPC endpoint (plaintext HTTP/2)",
            Value = $"http://{instance.AttrPublicDnsName}:{ServiceShape.GrpcPort}",
        });
        _ = new CfnOutput(this, "HttpUrl", new CfnOutputProps
        {
            Description = "HTTP front door",
            Value = $"http://{instance.AttrPublicDnsName}:{ServiceShape.HttpPort}",
        });
    }
}
