using Amazon.CDK;
using Amazon.CDK.AWS.AutoScaling;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.ElasticLoadBalancingV2;
using Amazon.CDK.AWS.IAM;
using Constructs;
using AsgHealthCheck = Amazon.CDK.AWS.AutoScaling.HealthCheck;
using Attribute = Amazon.CDK.AWS.DynamoDB.Attribute;
using Protocol = Amazon.CDK.AWS.ElasticLoadBalancingV2.Protocol;
using TargetHealthCheck = Amazon.CDK.AWS.ElasticLoadBalancingV2.HealthCheck;

namespace StudentPerformance.Infra.Hosts;

/// <summary>Which load balancer fronts the fleet (CDK context <c>fleetLoadBalancer</c>: <c>nlb</c> or <c>alb</c>).</summary>
public enum FleetLoadBalancer
{
    /// <summary>Network Load Balancer on the predictor's own ports; health check GET /readyz on the HTTP port.</summary>
    Nlb,

    /// <summary>Application Load Balancer, TLS only, with a gRPC target group checked through grpc.health.v1.</summary>
    Alb,
}

/// <summary>
/// When one host is not enough: an Auto Scaling group of the host's launch template over two AZs, behind a load
/// balancer that checks real readiness. Each host runs its own deployer; they roll a new digest out in waves through
/// the fleet table (docs/fleet.md): one host claims it and bakes it, the others follow only a baked digest, a refused
/// one is quarantined on every host, and a new host starts from the last baked digest.
/// </summary>
public sealed class FleetStack : Stack
{
    public const int MinHosts = 2;
    public const int MaxHosts = 4;

    /// <summary>Logical id of the group, fixed so the hosts' bootstrap can signal it before it exists in code.</summary>
    public const string AutoScalingGroupLogicalId = "FleetAutoScalingGroup";

    /// <summary>ALB variant: TLS listener for gRPC.</summary>
    public const int AlbGrpcListenerPort = 443;

    /// <summary>ALB variant: TLS listener for the HTTP front door.</summary>
    public const int AlbHttpListenerPort = 8443;

    /// <summary>The table's partition key and TTL attribute, as the deployer's DynamoDbFleetStore writes them.</summary>
    public const string TablePartitionKey = "pk";

    public const string TableTtlAttribute = "expiresAt";

    /// <summary>The only item keys a host may touch: one record per digest and the list of baked digests.</summary>
    public static readonly string[] TableKeyPatterns = ["digest#*", "baked#*"];

    /// <summary>What the deployer calls: consistent reads and conditional updates. No scan, query, put or delete.</summary>
    public static readonly string[] TableActions = ["dynamodb:GetItem", "dynamodb:UpdateItem"];

    public FleetStack(Construct scope, string id, FleetLoadBalancer loadBalancer, IStackProps? props = null)
        : base(scope, id, props)
    {
        TemplateOptions.Description = $"Student Performance: a fleet of predictor hosts behind an {loadBalancer.ToString().ToUpperInvariant()}";

        var parameters = HostParameters.Declare(this);
        var vpc = PublicVpc.Create(this);
        var table = new Table(this, "FleetTable", new TableProps
        {
            PartitionKey = new Attribute { Name = TablePartitionKey, Type = AttributeType.STRING },
            BillingMode = BillingMode.PAY_PER_REQUEST,
            // Digest records carry their expiry (Deployer:Fleet:RecordRetention after their last write).
            TimeToLiveAttribute = TableTtlAttribute,
            Encryption = TableEncryption.AWS_MANAGED,
            PointInTimeRecovery = true,
            // Coordination state only: a new table starts the fleet from :latest with one canary again.
            RemovalPolicy = RemovalPolicy.DESTROY,
        });
        var template = new HostTemplate(this, "Host", new HostTemplateProps
        {
            Vpc = vpc,
            Parameters = parameters,
            PollJitter = ServiceShape.FleetPollJitter,
            SignalResourceLogicalId = AutoScalingGroupLogicalId,
            FleetTableName = table.TableName,
        });
        template.Role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "FleetTableItemsOnly",
            Actions = TableActions,
            Resources = [table.TableArn],
            Conditions = new Dictionary<string, object>
            {
                // Only the fleet's own items (their partition keys), even within this table.
                ["ForAllValues:StringLike"] = new Dictionary<string, object> { ["dynamodb:LeadingKeys"] = TableKeyPatterns },
            },
        }));

        var group = new AutoScalingGroup(this, "Hosts", new AutoScalingGroupProps
        {
            Vpc = vpc,
            VpcSubnets = new SubnetSelection { SubnetType = SubnetType.PUBLIC },
            LaunchTemplate = template.LaunchTemplate,
            MinCapacity = MinHosts,
            MaxCapacity = MaxHosts,
            // A host the load balancer finds not ready is replaced, after the time a first boot needs.
            HealthCheck = AsgHealthCheck.Elb(new ElbHealthCheckOptions { Grace = Duration.Minutes(10) }),
            // Creation and every launch template change wait for each new host to report its predictor ready
            // (CDK grants the instance role cloudformation:SignalResource on this stack for it).
            Signals = Signals.WaitForMinCapacity(new SignalsOptions { Timeout = Duration.Minutes(15) }),
            // The instance refresh for launch template changes: one new host at a time, added before an old one
            // goes, so serving capacity never drops below MinHosts; a host that never gets ready rolls it back.
            UpdatePolicy = UpdatePolicy.RollingUpdate(new RollingUpdateOptions
            {
                MaxBatchSize = 1,
                MinInstancesInService = MinHosts,
                WaitOnResourceSignals = true,
                PauseTime = Duration.Minutes(15),
            }),
        });
        ((CfnAutoScalingGroup)group.Node.DefaultChild!).OverrideLogicalId(AutoScalingGroupLogicalId);

        var allowed = Peer.Ipv4(parameters.AllowedCidr.ValueAsString);
        var (dnsName, grpcUrl, httpUrl) = loadBalancer == FleetLoadBalancer.Nlb
            ? AddNetworkLoadBalancer(vpc, template, group, allowed)
            : AddApplicationLoadBalancer(vpc, group, allowed);

        _ = new CfnOutput(this, "LoadBalancerDnsName", new CfnOutputProps { Value = dnsName });
        _ = new CfnOutput(this, "GrpcUrl", new CfnOutputProps { Description = "gRPC endpoint", Value = grpcUrl });
        _ = new CfnOutput(this, "HttpUrl", new CfnOutputProps { Description = "HTTP front door", Value = httpUrl });
        _ = new CfnOutput(this, "AutoScalingGroupName", new CfnOutputProps { Value = group.AutoScalingGroupName });
        _ = new CfnOutput(this, "FleetTableName", new CfnOutputProps { Description = "Deployer:Fleet:Table", Value = table.TableName });
    }

    /// <summary>
    /// The default: the same ports as a single host, no certificate or domain needed. Both target groups are
    /// checked through the predictor's readiness endpoint, so a host without a working model takes no traffic.
    /// </summary>
    private (string DnsName, string GrpcUrl, string HttpUrl) AddNetworkLoadBalancer(
        Vpc vpc, HostTemplate template, AutoScalingGroup group, IPeer allowed)
    {
        var securityGroup = new SecurityGroup(this, "LoadBalancerSecurityGroup", new SecurityGroupProps
        {
            Vpc = vpc,
            Description = "Fleet NLB: the public ports from AllowedCidr, and on to the hosts",
            AllowAllOutbound = false,
        });
        var nlb = new NetworkLoadBalancer(this, "LoadBalancer", new NetworkLoadBalancerProps
        {
            Vpc = vpc,
            InternetFacing = true,
            CrossZoneEnabled = true,
            SecurityGroups = [securityGroup],
            VpcSubnets = new SubnetSelection { SubnetType = SubnetType.PUBLIC },
        });
        foreach (var port in ServiceShape.PublicPorts)
        {
            securityGroup.AddIngressRule(allowed, Port.Tcp(port), $"predictor port {port} from AllowedCidr");
            template.SecurityGroup.Connections.AllowFrom(securityGroup, Port.Tcp(port), $"port {port} from the NLB");
            var listener = nlb.AddListener($"Port{port}", new BaseNetworkListenerProps { Port = port, Protocol = Protocol.TCP });
            _ = listener.AddTargets($"Port{port}Hosts", new AddNetworkTargetsProps
            {
                Port = port,
                Protocol = Protocol.TCP,
                Targets = [group],
                DeregistrationDelay = Duration.Seconds(30),
                HealthCheck = ReadinessCheck(),
            });
        }

        return (nlb.LoadBalancerDnsName,
            $"http://{nlb.LoadBalancerDnsName}:{ServiceShape.GrpcPort}",
            $"http://{nlb.LoadBalancerDnsName}:{ServiceShape.HttpPort}");
    }

    /// <summary>
    /// The option: TLS at the balancer and per-request gRPC balancing, for the price of a certificate. gRPC target
    /// groups need an HTTPS listener; the health check asks grpc.health.v1 and expects OK (0), not ALB's default
    /// /AWS.ALB/healthcheck with code 12 (which any gRPC server answers, ready or not).
    /// </summary>
    private (string DnsName, string GrpcUrl, string HttpUrl) AddApplicationLoadBalancer(Vpc vpc, AutoScalingGroup group, IPeer allowed)
    {
        var certificateArn = new CfnParameter(this, "CertificateArn", new CfnParameterProps
        {
            Type = "String",
            Description = "ACM certificate ARN for the ALB's TLS listeners (gRPC target groups need HTTPS)",
            AllowedPattern = "^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$",
        });
        var securityGroup = new SecurityGroup(this, "LoadBalancerSecurityGroup", new SecurityGroupProps
        {
            Vpc = vpc,
            Description = "Fleet ALB: the TLS listeners from AllowedCidr, and on to the hosts",
            AllowAllOutbound = false,
        });
        var alb = new ApplicationLoadBalancer(this, "LoadBalancer", new ApplicationLoadBalancerProps
        {
            Vpc = vpc,
            InternetFacing = true,
            SecurityGroup = securityGroup,
            DropInvalidHeaderFields = true,
            VpcSubnets = new SubnetSelection { SubnetType = SubnetType.PUBLIC },
        });
        var certificates = new[] { ListenerCertificate.FromArn(certificateArn.ValueAsString) };

        securityGroup.AddIngressRule(allowed, Port.Tcp(AlbGrpcListenerPort), "gRPC over TLS from AllowedCidr");
        var grpc = alb.AddListener("Grpc", new BaseApplicationListenerProps
        {
            Port = AlbGrpcListenerPort,
            Protocol = ApplicationProtocol.HTTPS,
            Certificates = certificates,
            SslPolicy = SslPolicy.RECOMMENDED_TLS,
            Open = false,
        });
        _ = grpc.AddTargets("GrpcHosts", new AddApplicationTargetsProps
        {
            Port = ServiceShape.GrpcPort,
            Protocol = ApplicationProtocol.HTTP,
            ProtocolVersion = ApplicationProtocolVersion.GRPC,
            Targets = [group],
            DeregistrationDelay = Duration.Seconds(30),
            HealthCheck = new TargetHealthCheck
            {
                Path = ServiceShape.GrpcHealthCheckPath,
                HealthyGrpcCodes = ServiceShape.GrpcHealthySuccessCode,
                Interval = Duration.Seconds(10),
                HealthyThresholdCount = 2,
                UnhealthyThresholdCount = 2,
            },
        });

        securityGroup.AddIngressRule(allowed, Port.Tcp(AlbHttpListenerPort), "HTTP front door over TLS from AllowedCidr");
        var http = alb.AddListener("Http", new BaseApplicationListenerProps
        {
            Port = AlbHttpListenerPort,
            Protocol = ApplicationProtocol.HTTPS,
            Certificates = certificates,
            SslPolicy = SslPolicy.RECOMMENDED_TLS,
            Open = false,
        });
        _ = http.AddTargets("HttpHosts", new AddApplicationTargetsProps
        {
            Port = ServiceShape.HttpPort,
            Protocol = ApplicationProtocol.HTTP,
            Targets = [group],
            DeregistrationDelay = Duration.Seconds(30),
            HealthCheck = ReadinessCheck(),
        });

        return (alb.LoadBalancerDnsName,
            $"https://{alb.LoadBalancerDnsName}:{AlbGrpcListenerPort}",
            $"https://{alb.LoadBalancerDnsName}:{AlbHttpListenerPort}");
    }

    private static TargetHealthCheck ReadinessCheck() => new()
    {
        Protocol = Protocol.HTTP,
        Port = ServiceShape.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Path = ServiceShape.ReadinessPath,
        HealthyHttpCodes = "200",
        Interval = Duration.Seconds(10),
        HealthyThresholdCount = 2,
        UnhealthyThresholdCount = 2,
    };
}
