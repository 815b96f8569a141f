namespace StudentPerformance.Predictor.Http;

/// <summary>
/// The HTTP/1.1 front door on port 8080: REST/JSON transcoding, the browser form, /metrics, /healthz, /readyz.
/// Placeholder: the front-door work fills these in; the composition root already calls them.
/// </summary>
public static class FrontDoorExtensions
{
    public static WebApplicationBuilder AddFrontDoor(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder;
    }

    public static WebApplication MapFrontDoor(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app;
    }
}
