using StudentPerformance.Deployer.Hosting;

var app = DeployerHostExtensions.BuildDeployer(args);
await app.RunAsync();
