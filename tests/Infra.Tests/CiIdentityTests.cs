using System.Text.Json;

namespace StudentPerformance.Infra.Tests;

public sealed class CiIdentityTests
{
    private static readonly SynthesizedApp App = SynthesizedApp.Default;

    [Fact]
    public void RoleTrust_AllowsOnlyTheMainBranchOfOneRepositoryWithStsAudience()
    {
        var (_, role) = Assert.Single(App.Resources("CiIdentity", "AWS::IAM::Role"));
        var statement = Assert.Single(role.GetProperty("Properties").GetProperty("AssumeRolePolicyDocument")
            .GetProperty("Statement").EnumerateArray());

        Assert.Equal("sts:AssumeRoleWithWebIdentity", statement.GetProperty("Action").GetString());
        var conditions = statement.GetProperty("Condition");
        // Exactly one operator, StringEquals: a StringLike with wildcards would let other branches or forks in.
        var op = Assert.Single(conditions.EnumerateObject());
        Assert.Equal("StringEquals", op.Name);
        Assert.Equal(
            ["token.actions.githubusercontent.com:aud", "token.actions.githubusercontent.com:sub"],
            op.Value.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("sts.amazonaws.com", op.Value.GetProperty("token.actions.githubusercontent.com:aud").GetString());
        var sub = op.Value.GetProperty("token.actions.githubusercontent.com:sub").GetProperty("Fn::Join");
        Assert.Equal(
            """["repo:",{"Ref":"GitHubOwner"},"/",{"Ref":"GitHubRepository"},":ref:refs/heads/main"]""",
            JsonSerializer.Serialize(sub[1]));
    }

    [Fact]
    public void OidcProvider_CreatedUnlessAnExistingArnIsGiven()
    {
        var template = App.Assertions("CiIdentity");

        template.HasResource("AWS::IAM::OIDCProvider", new Dictionary<string, object>
        {
            ["Condition"] = "CreateOidcProvider",
            ["Properties"] = new Dictionary<string, object>
            {
                ["Url"] = "https://token.actions.githubusercontent.com",
                ["ClientIdList"] = new[] { "sts.amazonaws.com" },
            },
        });
        template.HasParameter("ExistingOidcProviderArn", new Dictionary<string, object> { ["Default"] = "" });
        template.HasCondition("CreateOidcProvider", new Dictionary<string, object>
        {
            ["Fn::Equals"] = new object[] { new Dictionary<string, object> { ["Ref"] = "ExistingOidcProviderArn" }, "" },
        });
    }

    [Fact]
    public void Role_CanPushToTheThreeRepositoriesOnly()
    {
        var statements = Policies.Statements(App, "CiIdentity").ToList();

        var push = Assert.Single(statements, s => Policies.Sid(s) == "EcrPushOurRepositories");
        Assert.Equal(
            ["repository/student-performance", "repository/student-performance-deployer", "repository/student-performance-edge"],
            Policies.ResourceSuffixes(push));
        Assert.Contains("ecr:PutImage", Policies.Actions(push));
        Assert.DoesNotContain(statements.SelectMany(Policies.Actions), a => a.Contains('*', StringComparison.Ordinal));
    }

    [Fact]
    public void SigningKey_IsAnAsymmetricP256SigningKey_Retained_UnderItsAlias()
    {
        var (id, key) = Assert.Single(App.Resources("CiIdentity", "AWS::KMS::Key"));
        var properties = key.GetProperty("Properties");

        Assert.Equal("ECC_NIST_P256", properties.GetProperty("KeySpec").GetString());
        Assert.Equal("SIGN_VERIFY", properties.GetProperty("KeyUsage").GetString());
        Assert.Equal("Retain", key.GetProperty("DeletionPolicy").GetString());
        var (_, alias) = Assert.Single(App.Resources("CiIdentity", "AWS::KMS::Alias"));
        Assert.Equal("alias/student-performance-image-signing", alias.GetProperty("Properties").GetProperty("AliasName").GetString());
        Assert.Equal($$"""{"Fn::GetAtt":["{{id}}","Arn"]}""", JsonSerializer.Serialize(alias.GetProperty("Properties").GetProperty("TargetKeyId")));
    }

    [Fact]
    public void Role_MaySignAndReadThePublicKey_OfTheSigningKeyOnly()
    {
        var statements = Policies.Statements(App, "CiIdentity").ToList();
        var (keyId, _) = Assert.Single(App.Resources("CiIdentity", "AWS::KMS::Key"));

        var sign = Assert.Single(statements, s => Policies.Actions(s).Any(a => a.StartsWith("kms:", StringComparison.Ordinal)));
        // DescribeKey too: cosign's KMS signer asks for the algorithm before it signs.
        Assert.Equal(["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"], Policies.Actions(sign).Order(StringComparer.Ordinal));
        Assert.Equal("Allow", sign.GetProperty("Effect").GetString());
        Assert.Equal($$"""{"Fn::GetAtt":["{{keyId}}","Arn"]}""", Assert.Single(Policies.RawResources(sign)));
        Assert.False(sign.TryGetProperty("Condition", out _));
    }
}
