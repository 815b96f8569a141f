using System.Text.Json.Serialization;

namespace StudentPerformance.Deployer.Registry;

/// <summary>The Docker token protocol's answer; registries use either name for the token.</summary>
internal sealed record TokenResponse(
    [property: JsonPropertyName("token")] string? Token,
    [property: JsonPropertyName("access_token")] string? AccessToken,
    [property: JsonPropertyName("expires_in")] int? ExpiresIn);

// Only the parts of the ECR JSON 1.1 API the deployer reads. Field names are the service's own.
internal sealed record EcrImageId(
    [property: JsonPropertyName("imageTag")] string? ImageTag,
    [property: JsonPropertyName("imageDigest")] string? ImageDigest = null);

internal sealed record EcrDescribeImagesRequest(
    [property: JsonPropertyName("repositoryName")] string RepositoryName,
    [property: JsonPropertyName("imageIds")] IReadOnlyList<EcrImageId> ImageIds,
    [property: JsonPropertyName("registryId"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RegistryId);

internal sealed record EcrImageDetail(
    [property: JsonPropertyName("registryId")] string? RegistryId,
    [property: JsonPropertyName("repositoryName")] string? RepositoryName,
    [property: JsonPropertyName("imageDigest")] string? ImageDigest,
    [property: JsonPropertyName("imageTags")] IReadOnlyList<string>? ImageTags);

internal sealed record EcrDescribeImagesResponse(
    [property: JsonPropertyName("imageDetails")] IReadOnlyList<EcrImageDetail>? ImageDetails);

internal sealed record EcrGetAuthorizationTokenRequest(
    [property: JsonPropertyName("registryIds"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? RegistryIds);

internal sealed record EcrAuthorizationData(
    [property: JsonPropertyName("authorizationToken")] string? AuthorizationToken,
    [property: JsonPropertyName("expiresAt")] double? ExpiresAt,
    [property: JsonPropertyName("proxyEndpoint")] string? ProxyEndpoint);

internal sealed record EcrGetAuthorizationTokenResponse(
    [property: JsonPropertyName("authorizationData")] IReadOnlyList<EcrAuthorizationData>? AuthorizationData);

internal sealed record EcrError(
    [property: JsonPropertyName("__type")] string? Type,
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("Message")] string? MessageUpper);

[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(EcrDescribeImagesRequest))]
[JsonSerializable(typeof(EcrDescribeImagesResponse))]
[JsonSerializable(typeof(EcrGetAuthorizationTokenRequest))]
[JsonSerializable(typeof(EcrGetAuthorizationTokenResponse))]
[JsonSerializable(typeof(EcrError))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
