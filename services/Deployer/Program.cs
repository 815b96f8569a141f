using StudentPerformance.Deployer.Admin;
using StudentPerformance.Deployer.Hosting;

// `probe` asks a running deployer for its health (the image's HEALTHCHECK has no shell and no curl).
if (args is ["probe", .. var rest])
{
    return await ProbeCommand.RunAsync(rest);
}

// `evaluate` runs the quality gate once against given addresses: CI scores an image before it pushes it.
if (args is ["evaluate", .. var evaluateArgs])
{
    return await EvaluateCommand.RunAsync(evaluateArgs);
}

var app = DeployerHostExtensions.BuildDeployer(args);
await app.RunAsync();
return 0;
