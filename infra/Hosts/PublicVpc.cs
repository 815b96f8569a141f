using Amazon.CDK;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.Logs;
using Constructs;

namespace StudentPerformance.Infra.Hosts;

internal static class PublicVpc
{
    /// <summary>
    /// A VPC of two public subnets in two AZs and no NAT gateway: hosts reach ECR, S3 and SSM through the internet
    /// gateway with their own public address (a NAT gateway would cost more than a t3.small). Security groups,
    /// not the subnet, keep them closed. AZs come from Fn::GetAZs, so the stack stays environment-agnostic.
    /// Rejected traffic is logged: on public addresses that is who knocks on closed ports, at a few cents a month.
    /// </summary>
    public static Vpc Create(Construct scope)
    {
        var vpc = new Vpc(scope, "Vpc", new VpcProps
        {
            IpAddresses = IpAddresses.Cidr("10.80.0.0/16"),
            MaxAzs = 2,
            NatGateways = 0,
            SubnetConfiguration = [new SubnetConfiguration { Name = "Public", SubnetType = SubnetType.PUBLIC, CidrMask = 24 }],
        });
        var logGroup = new LogGroup(scope, "RejectedTrafficLog", new LogGroupProps
        {
            Retention = RetentionDays.ONE_MONTH,
            RemovalPolicy = RemovalPolicy.DESTROY,
        });
        vpc.AddFlowLog("RejectedTraffic", new FlowLogOptions
        {
            TrafficType = FlowLogTrafficType.REJECT,
            Destination = FlowLogDestination.ToCloudWatchLogs(logGroup),
        });
        return vpc;
    }
}
