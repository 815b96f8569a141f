using System.CommandLine;
using StudentPerformance.Predictor.Hosting;
using StudentPerformance.Predictor.Training;

// The trainer's command line: `train` writes a model file, `generate-sample` the sample dataset. The serving
// executable (services/Predictor) never references ML.NET; this one is run at build time and never shipped.
var root = new RootCommand("Trains the student-performance model (ML.NET) and writes the sample dataset.")
{
    TrainCommand.Create(TimeProvider.System),
    GenerateSampleCommand.Create(),
};
return await CommandLineRunner.InvokeAsync(root, args, Console.Out, Console.Error).ConfigureAwait(false);
