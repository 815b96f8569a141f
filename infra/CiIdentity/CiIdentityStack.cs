using Amazon.CDK;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.KMS;
using Constructs;

namespace StudentPerformance.Infra.CiIdentity;

/// <summary>
/// The identity GitHub Actions assumes through OIDC to push images: no long-lived keys. Only the main branch of
/// one repository can assume it; it can only push to the three ECR repositories and sign with the image-signing key
/// (an asymmetric KMS key whose private half never leaves KMS), which the deployers verify (docs/security.md).
/// </summary>
public sealed class CiIdentityStack : Stack
{
    public const string GitHubIssuer = "token.actions.githubusercontent.com";
    public const string StsAudience = "sts.amazonaws.com";

    /// <summary>What a `docker push` (and the build's manifest look-ups) needs on a repository.</summary>
    public static readonly string[] PushActions =
    [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "ecr:GetDownloadUrlForLayer",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
    ];

    /// <summary>The signing key's alias: <c>cosign sign --key awskms:///alias/student-performance-image-signing</c>.</summary>
    public const string SigningKeyAlias = "alias/student-performance-image-signing";

    /// <summary>
    /// All cosign needs of the key: sign a digest and read the public key (<c>cosign public-key</c>), plus
    /// <c>kms:DescribeKey</c>, which cosign's KMS signer calls before it signs to learn the signing algorithm
    /// (sigstore/sigstore, pkg/signature/kms/aws/client.go, <c>fetchCMK</c>): without it <c>cosign sign</c> fails.
    /// </summary>
    public static readonly string[] SigningActions = ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"];

    public CiIdentityStack(Construct scope, string id, IStackProps? props = null)
        : base(scope, id, props)
    {
        TemplateOptions.Description = "Student Performance: the role GitHub Actions assumes (OIDC) to push images to ECR";

        var owner = new CfnParameter(this, "GitHubOwner", new CfnParameterProps
        {
            Type = "String",
            Description = "GitHub user or organisation that owns the repository",
            AllowedPattern = "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$",
        });
        var repository = new CfnParameter(this, "GitHubRepository", new CfnParameterProps
        {
            Type = "String",
            Description = "GitHub repository name (without the owner)",
            AllowedPattern = "^[A-Za-z0-9._-]{1,100}$",
        });
        var existingProvider = new CfnParameter(this, "ExistingOidcProviderArn", new CfnParameterProps
        {
            Type = "String",
            Default = "",
            Description = "ARN of the account's existing GitHub OIDC provider (an account has at most one); empty = create it",
            AllowedPattern = "^(arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com)?$",
        });

        var createProvider = new CfnCondition(this, "CreateOidcProvider", new CfnConditionProps
        {
            Expression = Fn.ConditionEquals(existingProvider.ValueAsString, ""),
        });
        var provider = new CfnOIDCProvider(this, "GitHubOidcProvider", new CfnOIDCProviderProps
        {
            Url = $"https://{GitHubIssuer}",
            ClientIdList = [StsAudience],
            // IAM trusts GitHub's issuer through its own CA store and ignores these, but older accounts' APIs still
            // require one: GitHub's two published intermediate thumbprints.
            ThumbprintList = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"],
        });
        provider.CfnOptions.Condition = createProvider;
        var providerArn = Fn.ConditionIf(createProvider.LogicalId, provider.AttrArn, existingProvider.ValueAsString).ToString();

        var role = new Role(this, "GitHubActionsRole", new RoleProps
        {
            Description = "Assumed by GitHub Actions on the main branch of one repository to push images to ECR",
            MaxSessionDuration = Duration.Hours(1),
            AssumedBy = new WebIdentityPrincipal(providerArn, new Dictionary<string, object>
            {
                // StringEquals, not StringLike: exactly this repository's main branch, no pull requests, no forks,
                // no other branches or tags, no environments.
                ["StringEquals"] = new Dictionary<string, object>
                {
                    [$"{GitHubIssuer}:aud"] = StsAudience,
                    [$"{GitHubIssuer}:sub"] = $"repo:{owner.ValueAsString}/{repository.ValueAsString}:ref:refs/heads/main",
                },
            }),
        });
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EcrLogin",
            Actions = ["ecr:GetAuthorizationToken"],
            // GetAuthorizationToken has no resource-level permissions: "*" is the only resource it accepts.
            Resources = ["*"],
        }));
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EcrPushOurRepositories",
            Actions = PushActions,
            Resources =
            [
                RepositoryArn(this, ServiceShape.PredictorRepository),
                RepositoryArn(this, ServiceShape.DeployerRepository),
                RepositoryArn(this, ServiceShape.EdgeRepository),
            ],
        }));

        // ECDSA P-256 over SHA-256: the one scheme the deployer's verifier accepts (Deployer:Signature). Retained: a
        // deleted key would leave every signed digest unverifiable by a new host. Asymmetric keys cannot rotate in
        // KMS; rotating means a new key and a new public key on the hosts (docs/security.md).
        var signingKey = new Key(this, "ImageSigningKey", new KeyProps
        {
            Description = "Signs the images CI pushes (cosign); the deployers verify with its public key",
            KeySpec = KeySpec.ECC_NIST_P256,
            KeyUsage = KeyUsage.SIGN_VERIFY,
            Alias = SigningKeyAlias,
            RemovalPolicy = RemovalPolicy.RETAIN,
        });
        role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "SignImagesWithTheSigningKey",
            Actions = SigningActions,
            Resources = [signingKey.KeyArn],
        }));

        _ = new CfnOutput(this, "SigningKeyArn", new CfnOutputProps
        {
            Description = "cosign public-key --key awskms:///<this ARN> > cosign.pub, then Deployer:Signature:PublicKeyPath on each host",
            Value = signingKey.KeyArn,
        });
        _ = new CfnOutput(this, "RoleArn", new CfnOutputProps
        {
            Description = "Set as the GitHub repository variable AWS_ROLE_TO_ASSUME",
            Value = role.RoleArn,
        });
    }

    /// <summary>A repository's ARN by name: each stack deploys alone, so none imports another's outputs.</summary>
    internal static string RepositoryArn(Stack stack, string name) =>
        stack.FormatArn(new ArnComponents { Service = "ecr", Resource = "repository", ResourceName = name });
}
