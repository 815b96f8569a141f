using System.Text.Json;

namespace StudentPerformance.Infra.Tests;

/// <summary>The fleet's coordination table (docs/fleet.md) and what the hosts may do with it.</summary>
public sealed class FleetTableTests
{
    private static readonly SynthesizedApp App = SynthesizedApp.Default;

    [Fact]
    public void Table_HasTheDeployersKeyAndTtlOnDemandEncryptedWithPointInTimeRecovery()
    {
        App.Assertions("Fleet").HasResourceProperties("AWS::DynamoDB::Table", new Dictionary<string, object>
        {
            ["KeySchema"] = new object[] { new Dictionary<string, object> { ["AttributeName"] = "pk", ["KeyType"] = "HASH" } },
            ["AttributeDefinitions"] = new object[] { new Dictionary<string, object> { ["AttributeName"] = "pk", ["AttributeType"] = "S" } },
            ["BillingMode"] = "PAY_PER_REQUEST",
            ["TimeToLiveSpecification"] = new Dictionary<string, object> { ["AttributeName"] = "expiresAt", ["Enabled"] = true },
            ["PointInTimeRecoverySpecification"] = new Dictionary<string, object> { ["PointInTimeRecoveryEnabled"] = true },
            ["SSESpecification"] = new Dictionary<string, object> { ["SSEEnabled"] = true },
        });
        Assert.Empty(App.Resources("Host", "AWS::DynamoDB::Table"));
    }

    [Fact]
    public void InstanceRole_ReadsAndUpdatesOnlyTheFleetItemsOfThatTable()
    {
        var (tableId, _) = Assert.Single(App.Resources("Fleet", "AWS::DynamoDB::Table"));
        var statements = Policies.Statements(App, "Fleet").ToList();
        var dynamo = statements.Where(s => Policies.Actions(s).Any(a => a.StartsWith("dynamodb:", StringComparison.Ordinal))).ToList();

        var statement = Assert.Single(dynamo);
        Assert.Equal(["dynamodb:GetItem", "dynamodb:UpdateItem"], Policies.Actions(statement).Order(StringComparer.Ordinal));
        Assert.Equal([$"{{\"Fn::GetAtt\":[\"{tableId}\",\"Arn\"]}}"], Policies.RawResources(statement));
        var keys = statement.GetProperty("Condition").GetProperty("ForAllValues:StringLike").GetProperty("dynamodb:LeadingKeys");
        Assert.Equal(["baked#*", "digest#*"], keys.EnumerateArray().Select(k => k.GetString()).Order(StringComparer.Ordinal));
        // The single host has no table and no DynamoDB permission at all.
        Assert.DoesNotContain(Policies.Statements(App, "Host"), s => Policies.Actions(s).Any(a => a.StartsWith("dynamodb:", StringComparison.Ordinal)));
    }

    [Fact]
    public void UserData_FleetHostsJoinTheTableAndTheSingleHostDoesNot()
    {
        var (tableId, _) = Assert.Single(App.Resources("Fleet", "AWS::DynamoDB::Table"));
        var fleet = App.UserData("Fleet");

        Assert.Contains("      Deployer__Fleet__Enabled: \"true\"\n", fleet, StringComparison.Ordinal);
        Assert.Contains($"      Deployer__Fleet__Table: \"${{{tableId}}}\"\n", fleet, StringComparison.Ordinal);
        Assert.Contains("      Deployer__Fleet__Region: \"${AWS::Region}\"\n", fleet, StringComparison.Ordinal);
        // No host id: each host names itself by its instance id (IMDSv2).
        Assert.DoesNotContain("Deployer__Fleet__HostId", fleet, StringComparison.Ordinal);
        Assert.DoesNotContain("Deployer__Fleet__", App.UserData("Host"), StringComparison.Ordinal);
    }

    [Fact]
    public void Outputs_NameTheTable()
    {
        var outputs = App.Json("Fleet").GetProperty("Outputs");

        Assert.True(outputs.TryGetProperty("FleetTableName", out var output));
        Assert.Equal(JsonValueKind.Object, output.GetProperty("Value").ValueKind);
    }
}
