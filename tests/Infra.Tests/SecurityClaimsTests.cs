using System.Text.Json;

namespace StudentPerformance.Infra.Tests;

/// <summary>Claims that hold for every stack.</summary>
public sealed class SecurityClaimsTests
{
    public static TheoryData<string> Stacks => [.. SynthesizedApp.StackNames];

    [Theory]
    [MemberData(nameof(Stacks))]
    public void Policies_UseWildcardResourceOnlyForGetAuthorizationToken_OrTheSigningKeyNamedByItsAlias(string stack)
    {
        foreach (var app in new[] { SynthesizedApp.Default, SynthesizedApp.WithAlb })
        {
            foreach (var statement in Policies.Statements(app, stack))
            {
                if (!Policies.RawResources(statement).Any(r => r.Contains('*', StringComparison.Ordinal)))
                {
                    continue;
                }

                if (Policies.Actions(statement).SequenceEqual(["kms:GetPublicKey"]))
                {
                    // Any key of the account only in name: the condition narrows it to requests naming the signing alias.
                    Assert.Equal(["key/*"], Policies.ResourceSuffixes(statement));
                    Assert.Equal(
                        "alias/student-performance-image-signing",
                        statement.GetProperty("Condition").GetProperty("StringEquals").GetProperty("kms:RequestAlias").GetString());
                }
                else
                {
                    Assert.Equal(["ecr:GetAuthorizationToken"], Policies.Actions(statement));
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public void SecurityGroups_OpenNothingToTheWorldByDefault(string stack)
    {
        foreach (var app in new[] { SynthesizedApp.Default, SynthesizedApp.WithAlb })
        {
            var template = app.Json(stack);
            foreach (var rule in IngressRules(app, stack))
            {
                // Every ingress comes from the AllowedCidr parameter or from another security group of the stack.
                if (rule.TryGetProperty("CidrIp", out var cidr))
                {
                    Assert.Equal("""{"Ref":"AllowedCidr"}""", JsonSerializer.Serialize(cidr));
                }
                else
                {
                    Assert.True(rule.TryGetProperty("SourceSecurityGroupId", out _), rule.GetRawText());
                }

                Assert.False(rule.TryGetProperty("CidrIpv6", out _), rule.GetRawText());
            }

            if (template.GetProperty("Parameters").TryGetProperty("AllowedCidr", out var parameter))
            {
                Assert.False(parameter.TryGetProperty("Default", out _), "AllowedCidr must have no default");
            }
        }
    }

    [Fact]
    public void IngressRules_ExistOnlyForThePublicPorts()
    {
        var ports = SynthesizedApp.StackNames
            .SelectMany(stack => IngressRules(SynthesizedApp.Default, stack))
            .Select(rule => (rule.GetProperty("FromPort").GetInt32(), rule.GetProperty("ToPort").GetInt32()))
            .Distinct()
            .Order();

        Assert.Equal([(8000, 8000), (8080, 8080)], ports);
    }

    [Fact]
    public void IngressRules_NeverCoverTheSlotsTheRuntimeApiOrTheAdminPort()
    {
        var rules = SynthesizedApp.StackNames
            .SelectMany(stack => IngressRules(SynthesizedApp.Default, stack))
            .Select(rule => (From: rule.GetProperty("FromPort").GetInt32(), To: rule.GetProperty("ToPort").GetInt32()))
            .ToList();

        Assert.Equal([18000, 18080, 28000, 28080, 9999, 9090], ServiceShape.LoopbackOnlyPorts);
        Assert.NotEmpty(rules);
        Assert.DoesNotContain(rules, rule => ServiceShape.LoopbackOnlyPorts.Any(port => rule.From <= port && port <= rule.To));
    }

    private static IEnumerable<JsonElement> IngressRules(SynthesizedApp app, string stack)
    {
        foreach (var (_, group) in app.Resources(stack, "AWS::EC2::SecurityGroup"))
        {
            if (group.GetProperty("Properties").TryGetProperty("SecurityGroupIngress", out var rules))
            {
                foreach (var rule in rules.EnumerateArray())
                {
                    yield return rule;
                }
            }
        }

        foreach (var (_, rule) in app.Resources(stack, "AWS::EC2::SecurityGroupIngress"))
        {
            yield return rule.GetProperty("Properties");
        }
    }
}
