using StudentPerformance.Deployer.Admin;
using StudentPerformance.Deployer.Hosting;

// `probe` asks a running deployer for its health (the image's HEALTHCHECK has no shell and no curl).
if (args is ["probe", .. var rest])
{
    return await ProbeCommand.RunAsync(rest);
}

var app = DeployerHostExtensions.BuildDeployer(args);
await app.RunAsync();
return 0;
