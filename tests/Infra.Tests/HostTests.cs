using System.Text.Json;
using Amazon.CDK.Assertions;

namespace StudentPerformance.Infra.Tests;

/// <summary>The launch template claims hold for the single host and for the fleet, which share it.</summary>
public sealed class HostTests
{
    private static readonly SynthesizedApp App = SynthesizedApp.Default;

    public static TheoryData<string> HostStacks => ["Host", "Fleet"];

    [Theory]
    [MemberData(nameof(HostStacks))]
    public void LaunchTemplate_RequiresImdsv2WithOneHop(string stack)
    {
        var metadata = LaunchTemplateData(stack).GetProperty("MetadataOptions");

        Assert.Equal("required", metadata.GetProperty("HttpTokens").GetString());
        Assert.Equal(1, metadata.GetProperty("HttpPutResponseHopLimit").GetInt32());
        Assert.Equal("enabled", metadata.GetProperty("HttpEndpoint").GetString());
    }

    [Theory]
    [MemberData(nameof(HostStacks))]
    public void LaunchTemplate_RootVolumeIs20GibEncryptedGp3(string stack)
    {
        var device = Assert.Single(LaunchTemplateData(stack).GetProperty("BlockDeviceMappings").EnumerateArray());

        Assert.Equal("/dev/sda1", device.GetProperty("DeviceName").GetString());
        var ebs = device.GetProperty("Ebs");
        Assert.True(ebs.GetProperty("VolumeSize").GetInt32() >= 20);
        Assert.Equal(20, ebs.GetProperty("VolumeSize").GetInt32());
        Assert.Equal("gp3", ebs.GetProperty("VolumeType").GetString());
        Assert.True(ebs.GetProperty("Encrypted").GetBoolean());
    }

    [Theory]
    [MemberData(nameof(HostStacks))]
    public void LaunchTemplate_HasNoSshKeyAndUbuntuFromSsmAtDeployTime(string stack)
    {
        var data = LaunchTemplateData(stack);
        var parameters = App.Json(stack).GetProperty("Parameters");

        Assert.False(data.TryGetProperty("KeyName", out _));
        var imageParameter = data.GetProperty("ImageId").GetProperty("Ref").GetString()!;
        Assert.Equal("AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", parameters.GetProperty(imageParameter).GetProperty("Type").GetString());
        Assert.Equal(
            "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
            parameters.GetProperty(imageParameter).GetProperty("Default").GetString());
        Assert.Equal("t3.small", parameters.GetProperty("InstanceType").GetProperty("Default").GetString());
    }

    [Theory]
    [MemberData(nameof(HostStacks))]
    public void InstanceRole_PullsFromTheThreeRepositoriesAndUsesSsm(string stack)
    {
        App.Assertions(stack).HasResourceProperties("AWS::IAM::Role", new Dictionary<string, object>
        {
            ["ManagedPolicyArns"] = Match.ArrayWith(
            [
                new Dictionary<string, object>
                {
                    ["Fn::Join"] = new object[] { "", Match.ArrayWith(["arn:", ":iam::aws:policy/AmazonSSMManagedInstanceCore"]) },
                },
            ]),
        });
        var statements = Policies.Statements(App, stack).ToList();
        var pull = Assert.Single(statements, s => Policies.Sid(s) == "EcrPullOurRepositories");
        Assert.Equal(
            ["repository/student-performance", "repository/student-performance-deployer", "repository/student-performance-edge"],
            Policies.ResourceSuffixes(pull));
        // Pull-only: nothing that writes to a repository.
        var writes = new[] { "ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchDeleteImage" };
        Assert.Empty(statements.SelectMany(Policies.Actions).Intersect(writes));
    }

    [Theory]
    [MemberData(nameof(HostStacks))]
    public void InstanceRole_ReadsOnlyThePublicKeyOfTheSigningKey_ThroughItsAlias(string stack)
    {
        var statements = Policies.Statements(App, stack).ToList();

        var kms = Assert.Single(statements, s => Policies.Actions(s).Any(a => a.StartsWith("kms:", StringComparison.Ordinal)));
        Assert.Equal("ReadTheImageSigningPublicKey", Policies.Sid(kms));
        Assert.Equal(["kms:GetPublicKey"], Policies.Actions(kms));
        Assert.Equal(["key/*"], Policies.ResourceSuffixes(kms));
        var condition = kms.GetProperty("Condition");
        Assert.Equal(["StringEquals"], condition.EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            """{"kms:RequestAlias":"alias/student-performance-image-signing"}""",
            JsonSerializer.Serialize(condition.GetProperty("StringEquals")));
    }

    [Theory]
    [MemberData(nameof(HostStacks))]
    public void UserData_RequiresSignedImages_WithThePublicKeyReadFromKmsBeforeTheDeployerStarts(string stack)
    {
        var script = App.UserData(stack);

        var read = script.IndexOf("signing_public_key /etc/student-performance/cosign.pub\n", StringComparison.Ordinal);
        var start = script.IndexOf("docker-compose up -d --no-build deployer", StringComparison.Ordinal);
        Assert.InRange(read, 0, start);
        Assert.Contains("aws kms get-public-key --region ${AWS::Region} --key-id alias/student-performance-image-signing", script, StringComparison.Ordinal);
        Assert.Contains("      Deployer__Signature__PublicKeyPath: \"/etc/student-performance/cosign.pub\"\n", script, StringComparison.Ordinal);
        Assert.Contains("      Deployer__Signature__Required: \"true\"\n", script, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(HostStacks))]
    public void UserData_InstallsDockerWritesComposeAndStartsTheDeployerAndEdgeByDigest(string stack)
    {
        var script = App.UserData(stack);

        Assert.Contains("apt-get install -y -q --no-install-recommends docker.io docker-compose", script, StringComparison.Ordinal);
        Assert.Contains("install -d -o 1654 -g 1654 -m 0750 /var/lib/student-performance-deployer", script, StringComparison.Ordinal);
        Assert.Contains("cat > /opt/student-performance/docker-compose.yml <<'COMPOSE_EOF'\n# The predictor and its deployer on one host.", script, StringComparison.Ordinal);
        Assert.Contains(
            "DEPLOYER_IMAGE=${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/student-performance-deployer@${DeployerImageDigest}\n",
            script, StringComparison.Ordinal);
        Assert.Contains(
            "EDGE_IMAGE=${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/student-performance-edge@${EdgeImageDigest}\n",
            script, StringComparison.Ordinal);
        Assert.Contains("DEPLOYER_STRATEGY=BlueGreen\n", script, StringComparison.Ordinal);
        Assert.Contains("DEPLOYER_STATE_DIR=/var/lib/student-performance-deployer\n", script, StringComparison.Ordinal);
        Assert.Contains("PREDICTOR_GRPC_PORT=8000\nPREDICTOR_HTTP_PORT=8080\n", script, StringComparison.Ordinal);
        // Compose runs only the deployer; the edge image is pulled for the deployer to start, and no predictor is started by compose.
        Assert.Contains("docker-compose pull deployer edge\ndocker-compose up -d --no-build deployer", script, StringComparison.Ordinal);
        Assert.DoesNotContain("predictor deployer", script, StringComparison.Ordinal);
    }

    [Fact]
    public void UserData_EmbedsTheRepositoryComposeFileVerbatim()
    {
        var script = App.UserData("Host");
        var compose = File.ReadAllText(Path.Combine(SynthesizedApp.RepositoryRoot, "docker-compose.yml")).TrimEnd('\n');

        Assert.Contains($"<<'COMPOSE_EOF'\n{compose}\nCOMPOSE_EOF\n", script, StringComparison.Ordinal);
    }

    [Fact]
    public void HostStack_OpensThePublicPortsFromAllowedCidrAndOutputsTheUrls()
    {
        var template = App.Assertions("Host");

        foreach (var port in new[] { 8000, 8080 })
        {
            template.HasResourceProperties("AWS::EC2::SecurityGroup", new Dictionary<string, object>
            {
                ["SecurityGroupIngress"] = Match.ArrayWith(
                [
                    Match.ObjectLike(new Dictionary<string, object>
                    {
                        ["CidrIp"] = new Dictionary<string, object> { ["Ref"] = "AllowedCidr" },
                        ["FromPort"] = port,
                        ["ToPort"] = port,
                        ["IpProtocol"] = "tcp",
                    }),
                ]),
            });
        }

        var outputs = App.Json("Host").GetProperty("Outputs").EnumerateObject().Select(o => o.Name).Order(StringComparer.Ordinal);
        Assert.Equal(["GrpcUrl", "HttpUrl", "InstanceId", "PublicAddress"], outputs);
        var (_, instance) = Assert.Single(App.Resources("Host", "AWS::EC2::Instance"));
        Assert.True(instance.GetProperty("Properties").TryGetProperty("LaunchTemplate", out _));
    }

    [Fact]
    public void HostUserData_DoesNotChangeThePollJitterOrSignal()
    {
        var script = App.UserData("Host");

        Assert.DoesNotContain("PollJitter", script, StringComparison.Ordinal);
        Assert.DoesNotContain("signal-resource", script, StringComparison.Ordinal);
    }

    private static JsonElement LaunchTemplateData(string stack)
    {
        var (_, template) = Assert.Single(App.Resources(stack, "AWS::EC2::LaunchTemplate"));
        return template.GetProperty("Properties").GetProperty("LaunchTemplateData");
    }
}
