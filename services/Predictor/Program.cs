using StudentPerformance.Predictor.Hosting;
using StudentPerformance.Predictor.Http;
using StudentPerformance.Predictor.Training;

// One executable: `train` builds a model file, `generate-sample` writes the sample dataset, `probe` asks a
// running server for its health (the container HEALTHCHECK has no shell and no grpcurl); anything else serves.
switch (args)
{
    case ["train", .. var rest]:
        return await TrainCommand.RunAsync(rest);
    case ["probe", .. var rest]:
        return await ProbeCommand.RunAsync(rest);
    case ["generate-sample", .. var rest]:
        return await GenerateSampleCommand.RunAsync(rest);
}

// Content root is the executable's folder, so appsettings.json is found from any working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddPredictor();
builder.AddFrontDoor();

var app = builder.Build();
app.MapPredictor();
app.MapFrontDoor();

// Not app.Run(): the exit code must say whether the model could be served.
return await app.RunPredictorAsync();
