using StudentPerformance.Deployer.Hosting;

// `run` (the default) starts the deployer; `probe` is the image's HEALTHCHECK (the runtime image has no shell or curl).
return await DeployerCommandLine.InvokeAsync(args);
