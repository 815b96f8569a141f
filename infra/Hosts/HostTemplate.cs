using Amazon.CDK;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.IAM;
using Constructs;
using StudentPerformance.Infra.CiIdentity;

namespace StudentPerformance.Infra.Hosts;

/// <summary>How a predictor host is built; the single host and every fleet member use the same launch template.</summary>
internal sealed class HostTemplateProps
{
    public required IVpc Vpc { get; init; }

    public required HostParameters Parameters { get; init; }

    /// <summary><c>Deployer:PollJitter</c>; null keeps the deployer's default.</summary>
    public string? PollJitter { get; init; }

    /// <summary>
    /// Logical id of the resource that waits for hosts (a fleet's Auto Scaling group): the bootstrap signals it
    /// once the predictor answers its readiness endpoint, or signals failure. Null: no signal (the single host).
    /// </summary>
    public string? SignalResourceLogicalId { get; init; }

    /// <summary>The fleet table (<c>Deployer:Fleet:Table</c>); null: no fleet coordination (the single host).</summary>
    public string? FleetTableName { get; init; }
}

/// <summary>
/// The launch template of a predictor host: Ubuntu 22.04 resolved from SSM at deploy time, encrypted gp3 root
/// volume, IMDSv2 only, no SSH key (SSM Session Manager), a pull-only instance role, and user data that installs
/// Docker and starts the repository's compose file with the deployer and the edge image pinned by digest.
/// </summary>
internal sealed class HostTemplate : Construct
{
    /// <summary>Root volume size. The seed's 8 GB filled up; images are about 300 MB and the deployer keeps two.</summary>
    public const int RootVolumeGiB = 20;

    /// <summary>Canonical's public SSM parameter for the current Ubuntu 22.04 LTS amd64 image.</summary>
    public const string UbuntuAmiParameter = "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id";

    /// <summary>What pulling an image needs on a repository; the deployer resolves its tag with DescribeImages.</summary>
    public static readonly string[] PullActions =
    [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
        "ecr:GetDownloadUrlForLayer",
    ];

    public HostTemplate(Construct scope, string id, HostTemplateProps props)
        : base(scope, id)
    {
        var stack = Stack.Of(this);

        Role = new Role(this, "Role", new RoleProps
        {
            Description = "Predictor host: pull images from the three ECR repositories, and SSM Session Manager",
            AssumedBy = new ServicePrincipal("ec2.amazonaws.com"),
            ManagedPolicies = [ManagedPolicy.FromAwsManagedPolicyName("AmazonSSMManagedInstanceCore")],
        });
        Role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EcrLogin",
            Actions = ["ecr:GetAuthorizationToken"],
            // GetAuthorizationToken has no resource-level permissions: "*" is the only resource it accepts.
            Resources = ["*"],
        }));
        Role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EcrPullOurRepositories",
            Actions = PullActions,
            Resources =
            [
                CiIdentityStack.RepositoryArn(stack, ServiceShape.PredictorRepository),
                CiIdentityStack.RepositoryArn(stack, ServiceShape.DeployerRepository),
                CiIdentityStack.RepositoryArn(stack, ServiceShape.EdgeRepository),
            ],
        }));

        // The public half of the CI's image-signing key (CiIdentity stack), read once at boot: through its alias only,
        // since the stacks are deployable alone and this one cannot name the key's ARN. kms:RequestAlias holds only
        // for requests that name the key by that alias, which the bootstrap does; no other key and no other action.
        Role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ReadTheImageSigningPublicKey",
            Actions = ["kms:GetPublicKey"],
            Resources = [$"arn:{Aws.PARTITION}:kms:{Aws.REGION}:{Aws.ACCOUNT_ID}:key/*"],
            Conditions = new Dictionary<string, object>
            {
                ["StringEquals"] = new Dictionary<string, object> { ["kms:RequestAlias"] = CiIdentityStack.SigningKeyAlias },
            },
        }));

        SecurityGroup = new SecurityGroup(this, "SecurityGroup", new SecurityGroupProps
        {
            Vpc = props.Vpc,
            Description = "Predictor host: the public ports only; egress to HTTPS (ECR, S3, SSM) and HTTP (apt)",
            AllowAllOutbound = false,
        });
        SecurityGroup.AddEgressRule(Peer.AnyIpv4(), Port.Tcp(443), "HTTPS: ECR, S3 image layers, SSM, apt");
        SecurityGroup.AddEgressRule(Peer.AnyIpv4(), Port.Tcp(80), "HTTP: Ubuntu package mirrors (signed packages)");

        UserData = UserData.ForLinux();
        UserData.AddCommands(BootstrapScript(
            props.Parameters.DeployerImageDigest.ValueAsString,
            props.Parameters.EdgeImageDigest.ValueAsString,
            props.PollJitter,
            props.FleetTableName,
            props.SignalResourceLogicalId));

        LaunchTemplate = new LaunchTemplate(this, "LaunchTemplate", new LaunchTemplateProps
        {
            MachineImage = MachineImage.FromSsmParameter(UbuntuAmiParameter),
            InstanceType = new InstanceType(props.Parameters.InstanceType.ValueAsString),
            Role = Role,
            SecurityGroup = SecurityGroup,
            UserData = UserData,
            RequireImdsv2 = true,
            HttpTokens = LaunchTemplateHttpTokens.REQUIRED,
            HttpEndpoint = true,
            // 1 hop: the deployer uses the host's network (compose network_mode: host), so nothing that needs
            // instance credentials sits behind a bridge; containers on a bridge cannot reach IMDS at all.
            HttpPutResponseHopLimit = 1,
            BlockDevices =
            [
                new BlockDevice
                {
                    DeviceName = "/dev/sda1",
                    Volume = BlockDeviceVolume.Ebs(RootVolumeGiB, new EbsDeviceOptions
                    {
                        VolumeType = EbsDeviceVolumeType.GP3,
                        Encrypted = true,
                        DeleteOnTermination = true,
                    }),
                },
            ],
        });
    }

    public Role Role { get; }

    public SecurityGroup SecurityGroup { get; }

    public UserData UserData { get; }

    public LaunchTemplate LaunchTemplate { get; }

    /// <summary>The ECR registry host of this account and region.</summary>
    public static string RegistryHost => $"{Aws.ACCOUNT_ID}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}";

    private static string BootstrapScript(string deployerDigest, string edgeDigest, string? pollJitter, string? fleetTable, string? signalResource)
    {
        var compose = ReadComposeFile();
        var registry = RegistryHost;
        var dir = ServiceShape.ComposeDirectory;
        var dockerConfig = "{\"credHelpers\": {\"" + registry + "\": \"ecr-login\"}}";
        // A fleet host joins the canary protocol (docs/fleet.md): the table in this region, the instance id (IMDSv2)
        // as its name. Its first rollout is the fleet's last baked digest, not whatever :latest points at.
        var environment = new List<string>
        {
            $"      Deployer__Signature__PublicKeyPath: \"{ServiceShape.SigningPublicKeyPath}\"",
            "      Deployer__Signature__Required: \"true\"",
        };
        if (pollJitter is not null)
        {
            environment.Add($"      Deployer__PollJitter: \"{pollJitter}\"");
        }

        if (fleetTable is not null)
        {
            environment.Add("      Deployer__Fleet__Enabled: \"true\"");
            environment.Add($"      Deployer__Fleet__Table: \"{fleetTable}\"");
            environment.Add($"      Deployer__Fleet__Region: \"{Aws.REGION}\"");
        }

        var keyPath = ServiceShape.SigningPublicKeyPath;
        var overrides = $$"""
            cat > {{dir}}/docker-compose.override.yml <<'OVERRIDE_EOF'
            # Written by the infrastructure: this host's additions to the repository's compose file.
            services:
              deployer:
                environment:
            {{string.Join("\n", environment)}}
                volumes:
                  - {{keyPath}}:{{keyPath}}:ro
            OVERRIDE_EOF

            """;
        var signalSetup = signalResource is null ? "" : $$"""
            # Tell CloudFormation whether this host came up: any failing command below signals FAILURE.
            signal() {
              local token instance
              token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
              instance=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
              aws cloudformation signal-resource --region {{Aws.REGION}} --stack-name {{Aws.STACK_NAME}} \
                --logical-resource-id {{signalResource}} --unique-id "$instance" --status "$1"
            }
            trap 'signal FAILURE' ERR

            """;
        var signalReady = signalResource is null ? "" : $$"""

            # Ready means the predictor answers its readiness endpoint through the edge (the deployer created the edge and
            # a slot, and the model loaded), as the load balancer checks.
            for _ in $(seq 1 120); do
              if curl -fsS -o /dev/null http://127.0.0.1:{{ServiceShape.HttpPort}}{{ServiceShape.ReadinessPath}}; then
                trap - ERR
                signal SUCCESS
                exit 0
              fi
              sleep 5
            done
            signal FAILURE
            """;
        return $$"""
            set -euo pipefail
            export DEBIAN_FRONTEND=noninteractive
            {{signalSetup}}apt-get update -q
            apt-get update -q
            # docker-compose is Ubuntu's 1.29, which the repository's compose file is tested with. The ECR credential
            # helper lets docker (and compose) pull with the instance role; awscli reads the signing key and signals readiness
            # on a fleet.
            apt-get install -y -q --no-install-recommends docker.io docker-compose amazon-ecr-credential-helper awscli curl
            systemctl enable --now docker

            # Only signed images roll out (docs/security.md): the deployer checks each digest against the public half
            # of the KMS key CI signs with, written here as PEM (KMS returns DER, base64 in the CLI's text output).
            # Without it the host does not start: deploy the CiIdentity stack first.
            signing_public_key() {
              local der
              der=$(aws kms get-public-key --region {{Aws.REGION}} --key-id {{CiIdentityStack.SigningKeyAlias}} --query PublicKey --output text) \
                || { echo "bootstrap: cannot read the public key of {{CiIdentityStack.SigningKeyAlias}} (is the CiIdentity stack deployed?)" >&2; return 1; }
              { echo '-----BEGIN PUBLIC KEY-----'; fold -w 64 <<<"$der"; echo '-----END PUBLIC KEY-----'; } > "$1.new"
              chmod 0644 "$1.new"
              mv "$1.new" "$1"
            }
            install -d -m 0755 {{Path.GetDirectoryName(keyPath)}}
            signing_public_key {{keyPath}}

            install -d -o {{ServiceShape.DeployerUid}} -g {{ServiceShape.DeployerUid}} -m 0750 {{ServiceShape.DeployerStateDirectory}}
            install -d -m 0700 /root/.docker
            cat > /root/.docker/config.json <<'DOCKER_EOF'
            {{dockerConfig}}
            DOCKER_EOF

            install -d -m 0755 {{dir}}
            cat > {{dir}}/docker-compose.yml <<'COMPOSE_EOF'
            {{compose}}
            COMPOSE_EOF
            {{overrides}}cat > {{dir}}/.env <<ENV_EOF
            DEPLOYER_STRATEGY={{ServiceShape.DeployerStrategy}}
            DEPLOYER_IMAGE={{registry}}/{{ServiceShape.DeployerRepository}}@{{deployerDigest}}
            EDGE_IMAGE={{registry}}/{{ServiceShape.EdgeRepository}}@{{edgeDigest}}
            DEPLOYER_REPOSITORY={{ServiceShape.PredictorRepository}}
            DEPLOYER_TAG={{ServiceShape.TrackedTag}}
            DEPLOYER_POLL_INTERVAL={{ServiceShape.PollInterval}}
            DEPLOYER_STATE_DIR={{ServiceShape.DeployerStateDirectory}}
            PREDICTOR_GRPC_PORT={{ServiceShape.GrpcPort}}
            PREDICTOR_HTTP_PORT={{ServiceShape.HttpPort}}
            AWS_REGION={{Aws.REGION}}
            DOCKER_GID=$(getent group docker | cut -d: -f3)
            ENV_EOF

            # Compose starts only the deployer. The deployer creates the edge (from EDGE_IMAGE, pulled here because the
            # deployer starts it but does not pull it) and the predictor slots, pulled from ECR by digest; restart
            # policies bring all of them back after a reboot. The state folder is mounted at the same path inside the
            # deployer as on the host, since the edge bind-mounts its configuration folder by that path.
            cd {{dir}}
            docker-compose pull deployer edge
            docker-compose up -d --no-build deployer{{signalReady}}
            """;
    }

    private static string ReadComposeFile()
    {
        using var stream = typeof(HostTemplate).Assembly.GetManifestResourceStream("docker-compose.yml")
            ?? throw new InvalidOperationException("docker-compose.yml is not embedded in the Infra assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().TrimEnd('\n');
    }
}
