namespace StudentPerformance.Infra;

/// <summary>
/// Everything the stacks need to know about the services they host, in one place: ports, health endpoints,
/// repository names and the deployer's settings. The public ports are the edge proxy's (blue/green, docs/edge.md);
/// when they move, this is the only file of the infrastructure to change.
/// </summary>
public static class ServiceShape
{
    /// <summary>Public gRPC port (plaintext HTTP/2) on a host, bound by the edge proxy in front of the predictor's slots.</summary>
    public const int GrpcPort = 8000;

    /// <summary>Public HTTP/1.1 front door on a host (REST, /healthz, /readyz, /metrics), bound by the edge proxy.</summary>
    public const int HttpPort = 8080;

    /// <summary>Readiness endpoint on <see cref="HttpPort"/>: 200 only once the model serves.</summary>
    public const string ReadinessPath = "/readyz";

    /// <summary>The grpc.health.v1 method an ALB gRPC health check calls on <see cref="GrpcPort"/>.</summary>
    public const string GrpcHealthCheckPath = "/grpc.health.v1.Health/Check";

    /// <summary>gRPC status code OK: what a SERVING health answer returns (ALB's default expects 12).</summary>
    public const string GrpcHealthySuccessCode = "0";

    /// <summary>ECR repository of the predictor image; the deployer tracks <see cref="TrackedTag"/> in it.</summary>
    public const string PredictorRepository = "student-performance";

    /// <summary>ECR repository of the deployer image; hosts start it by digest.</summary>
    public const string DeployerRepository = "student-performance-deployer";

    /// <summary>
    /// ECR repository of the edge proxy image (Dockerfile.edge); hosts pull it by digest and the deployer starts it
    /// (<c>Deployer:Edge:Image</c>). From ECR, not built on the host: a host never builds images.
    /// </summary>
    public const string EdgeRepository = "student-performance-edge";

    /// <summary><c>Deployer:Strategy</c> on every host: the edge holds the public ports, rollouts switch slots behind it.</summary>
    public const string DeployerStrategy = "BlueGreen";

    /// <summary>The tag the workflow moves and the deployer follows (<c>Deployer:Image:Tag</c>).</summary>
    public const string TrackedTag = "latest";

    /// <summary>The deployer's state directory and host lock (<c>Deployer:StateDirectory</c>).</summary>
    public const string DeployerStateDirectory = "/var/lib/student-performance-deployer";

    /// <summary>The uid and gid the deployer image runs as (Dockerfile.deployer: <c>USER 1654:1654</c>).</summary>
    public const int DeployerUid = 1654;

    /// <summary>Where user data writes the compose file and its <c>.env</c> on a host.</summary>
    public const string ComposeDirectory = "/opt/student-performance";

    /// <summary>
    /// Where user data writes the public half of the image-signing key on a host, and where the deployer reads it
    /// (<c>Deployer:Signature:PublicKeyPath</c>, mounted read-only at the same path): every host requires signed images.
    /// </summary>
    public const string SigningPublicKeyPath = "/etc/student-performance/cosign.pub";

    /// <summary><c>Deployer:PollInterval</c> on every host.</summary>
    public const string PollInterval = "00:00:30";

    /// <summary>
    /// <c>Deployer:PollJitter</c> on a fleet host: as long as the poll interval, so the hosts of a fleet notice a
    /// new digest at spread-out moments instead of all swapping their container in the same few seconds.
    /// </summary>
    public const string FleetPollJitter = "00:00:30";

    /// <summary>Both public ports, in the order the stacks open them.</summary>
    public static IReadOnlyList<int> PublicPorts { get; } = [GrpcPort, HttpPort];

    /// <summary>
    /// Ports that listen on the host's 127.0.0.1 only and that no security group may ever open: the blue and green
    /// slots (<c>Deployer:Edge:BluePorts</c>, <c>Deployer:Edge:GreenPorts</c>: a client there would bypass the edge),
    /// the edge's runtime API (<c>Deployer:Edge:RuntimeApi</c>: it can stop all traffic) and the deployer's admin
    /// endpoint (<c>Deployer:Admin:Url</c>: it triggers rollouts).
    /// </summary>
    public static IReadOnlyList<int> LoopbackOnlyPorts { get; } = [18000, 18080, 28000, 28080, 9999, 9090];
}
