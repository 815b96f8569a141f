using StudentPerformance.Predictor.Training;

// One executable, two commands: `train` builds a model file; anything else serves it.
if (args.Length > 0 && args[0] == "train")
{
    return await TrainCommand.RunAsync(args[1..]);
}

Console.Error.WriteLine("serve: not implemented yet");
return 2;
