using Amazon.CDK;
using StudentPerformance.Infra;

var app = new App();
InfraApp.AddStacks(app);
app.Synth();
