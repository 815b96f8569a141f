using StudentPerformance.Predictor.Hosting;
using StudentPerformance.Predictor.Http;

// `probe` asks a running server for its health (the container HEALTHCHECK has no shell and no grpcurl);
// anything else serves. Training lives in services/Predictor.Training, so serving never loads ML.NET.
switch (args)
{
    case ["probe", .. var rest]:
        return await ProbeCommand.RunAsync(rest).ConfigureAwait(false);
    case ["train" or "generate-sample", ..]:
        await Console.Error.WriteLineAsync(
            $"{args[0]} moved to the trainer: dotnet run --project services/Predictor.Training -- {args[0]} --help").ConfigureAwait(false);
        return 2;
}

// Content root is the executable's folder, so appsettings.json is found from any working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddPredictor();
builder.AddFrontDoor();

var app = builder.Build();
app.MapPredictor();
app.MapFrontDoor();

// Not app.Run(): the exit code must say whether the model could be served.
return await app.RunPredictorAsync().ConfigureAwait(false);
