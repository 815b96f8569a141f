using Amazon.CDK;
using Amazon.CDK.AWS.ECR;
using Constructs;

namespace StudentPerformance.Infra.Registry;

/// <summary>
/// The three ECR repositories the workflow pushes to: the predictor, and the deployer and the edge proxy that hosts
/// start by digest.
/// </summary>
public sealed class RegistryStack : Stack
{
    /// <summary>Images kept whatever their age: more than any host can still roll back to.</summary>
    public const int KeepNewestImages = 10;

    /// <summary>Untagged images (a tag moved away from them) expire after this many days.</summary>
    public const int UntaggedExpiryDays = 14;

    public RegistryStack(Construct scope, string id, IStackProps? props = null)
        : base(scope, id, props)
    {
        TemplateOptions.Description = "Student Performance: ECR repositories for the predictor, the deployer and the edge";
        AddRepository("Predictor", ServiceShape.PredictorRepository);
        AddRepository("Deployer", ServiceShape.DeployerRepository);
        AddRepository("Edge", ServiceShape.EdgeRepository);
    }

    private void AddRepository(string id, string name)
    {
        var repository = new Repository(this, id, new RepositoryProps
        {
            RepositoryName = name,
            ImageScanOnPush = true,
            Encryption = RepositoryEncryption.AES_256,
            // MUTABLE, because the deployer tracks a tag (`latest`) that every push moves. IMMUTABLE would make a
            // pushed tag a permanent name for one digest, which is stronger provenance, but then hosts would have
            // to follow a new tag per release and something would have to tell them which. What we give up is
            // covered elsewhere: the workflow also pushes the commit SHA as a tag that nothing moves, and hosts
            // pin what they run by digest, never by tag, so a re-pointed tag can only ever start a new rollout
            // (preflight, gate, rollback), never change a running container.
            ImageTagMutability = TagMutability.MUTABLE,
            // Images are the release history: deleting the stack must not delete them.
            RemovalPolicy = RemovalPolicy.RETAIN,
            LifecycleRules =
            [
                new LifecycleRule
                {
                    RulePriority = 1,
                    Description = $"Expire untagged images after {UntaggedExpiryDays} days",
                    TagStatus = TagStatus.UNTAGGED,
                    MaxImageAge = Duration.Days(UntaggedExpiryDays),
                },
                new LifecycleRule
                {
                    RulePriority = 2,
                    Description = $"Keep the newest {KeepNewestImages} images: a host can roll back to any of them",
                    TagStatus = TagStatus.ANY,
                    MaxImageCount = KeepNewestImages,
                },
            ],
        });

        // Spelled out: CDK leaves the property out for AES256, the service default. The template then says what
        // the repository is, and the guard rules can check it.
        ((CfnRepository)repository.Node.DefaultChild!).AddPropertyOverride("EncryptionConfiguration.EncryptionType", "AES256");

        _ = new CfnOutput(this, $"{id}RepositoryUri", new CfnOutputProps
        {
            Description = $"URI of the {name} repository",
            Value = repository.RepositoryUri,
        });
    }
}
