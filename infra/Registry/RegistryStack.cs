using Amazon.CDK;
using Amazon.CDK.AWS.ECR;
using Constructs;

namespace StudentPerformance.Infra.Registry;

/// <summary>
/// The three ECR repositories the workflow pushes to: the predictor, and the deployer and the edge proxy that hosts
/// start by digest. No lifecycle rule may expire an image a host needs: the deployer and edge digests pinned in the
/// launch template (a replacement host pulls them at boot) keep their commit tag, and tagged images of those two
/// repositories never expire. Only the predictor's are counted out, beyond the newest ten (docs/fleet.md: a fresh
/// host starts from the fleet's last baked digest, which ten refused pushes in a row would push out). Each image's
/// cosign signature is a small manifest of its own in the same repository (tagged <c>sha256-&lt;hex&gt;.sig</c>), which
/// the deployer needs to roll that image out or back: the predictor's are kept for as many images as the rule keeps.
/// </summary>
public sealed class RegistryStack : Stack
{
    /// <summary>Predictor images kept whatever their age: more than any host can still roll back to.</summary>
    public const int KeepNewestImages = 10;

    /// <summary>The tags cosign gives signature manifests: <c>sha256-&lt;hex&gt;.sig</c>.</summary>
    public const string SignatureTagPattern = "sha256-*.sig";

    /// <summary>Untagged images (a tag moved away from them) expire after this many days.</summary>
    public const int UntaggedExpiryDays = 14;

    public RegistryStack(Construct scope, string id, IStackProps? props = null)
        : base(scope, id, props)
    {
        TemplateOptions.Description = "Student Performance: ECR repositories for the predictor, the deployer and the edge";
        AddRepository("Predictor", ServiceShape.PredictorRepository, countTagged: true);
        // Hosts start these two by the digest in the launch template, which may be many merges old: every push
        // tags its image with the commit, and tagged images are never counted out. Ten merges used to expire the
        // digest a replacement host boots from.
        AddRepository("Deployer", ServiceShape.DeployerRepository, countTagged: false);
        AddRepository("Edge", ServiceShape.EdgeRepository, countTagged: false);
    }

    private void AddRepository(string id, string name, bool countTagged)
    {
        LifecycleRule[] rules =
        [
            new LifecycleRule
            {
                RulePriority = 1,
                Description = $"Expire untagged images after {UntaggedExpiryDays} days",
                TagStatus = TagStatus.UNTAGGED,
                MaxImageAge = Duration.Days(UntaggedExpiryDays),
            },
        ];
        if (countTagged)
        {
            rules =
            [
                .. rules,
                // A signature has a rule of its own, so the signatures of the kept images are kept too. The "any"
                // rule below still counts the signatures it may not expire (ECR: a lower-priority rule identifies the
                // images a higher one selected but cannot expire them), and CI pushes each image and then its
                // signature: twice the count keeps the newest ten images.
                new LifecycleRule
                {
                    RulePriority = 2,
                    Description = $"Keep the signatures of the newest {KeepNewestImages} images",
                    TagStatus = TagStatus.TAGGED,
                    TagPatternList = [SignatureTagPattern],
                    MaxImageCount = KeepNewestImages,
                },
                new LifecycleRule
                {
                    RulePriority = 3,
                    Description = $"Keep the newest {KeepNewestImages} images (and their signatures): a host can roll back to any of them",
                    TagStatus = TagStatus.ANY,
                    MaxImageCount = 2 * KeepNewestImages,
                },
            ];
        }

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
            LifecycleRules = rules,
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
