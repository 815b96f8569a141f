namespace StudentPerformance.Predictor.Http;

internal static partial class Log
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Information,
        Message = "TLS endpoint on {Address}:{Port} serves gRPC and HTTPS (ALPN); certificate {Subject}, valid until {NotAfter:u}")]
    public static partial void TlsEnabled(ILogger logger, string address, int port, string subject, DateTime notAfter);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information,
        Message = "No TLS certificate configured (FrontDoor:Tls:CertificatePath): browsers and curl use plain http on the Http endpoint, gRPC uses h2c on the Grpc endpoint")]
    public static partial void TlsDisabled(ILogger logger);
}
