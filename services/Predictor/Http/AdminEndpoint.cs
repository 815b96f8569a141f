using System.Globalization;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using StudentPerformance.Features;
using StudentPerformance.Predictor.Shadow;

namespace StudentPerformance.Predictor.Http;

/// <summary>
/// The admin endpoint: the Kestrel endpoint named <c>Admin</c> (<c>Kestrel:Endpoints:Admin</c>, 8081 in the image),
/// which serves the input sample at <see cref="ShadowSample.Path"/> and nothing else serves it. The deployer publishes
/// it on the host's 127.0.0.1 only, and the edge never routes it. Connections accepted there are marked, so the
/// route answers 404 on every other port whatever the port numbers are; without the endpoint in configuration the
/// sample is served nowhere.
/// </summary>
internal static class AdminEndpoint
{
    public const string EndpointName = "Admin";

    private const string Marker = "studentperformance.admin";

    public static void AddTo(KestrelServerOptions kestrel) =>
        kestrel.ConfigurationLoader?.Endpoint(EndpointName, endpoint =>
        {
            endpoint.ListenOptions.Protocols = HttpProtocols.Http1;
            endpoint.ListenOptions.Use(next => connection =>
            {
                connection.Items[Marker] = true;
                return next(connection);
            });
        });

    public static void Map(WebApplication app)
    {
        var sample = app.Services.GetRequiredService<InputSample>();
        app.MapGet(ShadowSample.Path, (HttpContext context) => ServeSample(context, sample))
            .WithMetadata(FrontDoorRouteMetadata.Instance);
    }

    private static bool IsAdminConnection(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(Marker) == true;

    private static async Task ServeSample(HttpContext context, InputSample sample)
    {
        if (!IsAdminConnection(context))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!sample.Enabled)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await context.Response.WriteAsync("the input sample is off (Predictor:Shadow:Enabled is false)\n", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var students = sample.Snapshot();
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        StudentCsv.WriteInputHeader(text);
        foreach (var s in students)
        {
            StudentCsv.WriteInputRow(text, s.Gender, s.RaceEthnicity, s.ParentalLevelOfEducation, s.Lunch, s.TestPreparationCourse, s.ReadingScore, s.WritingScore);
        }

        context.Response.ContentType = "text/csv; charset=utf-8";
        context.Response.Headers["X-Sample-Capacity"] = sample.Capacity.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers["X-Sample-Recorded"] = sample.Recorded.ToString(CultureInfo.InvariantCulture);
        await context.Response.WriteAsync(text.ToString(), context.RequestAborted).ConfigureAwait(false);
    }
}
