using System.Globalization;

namespace StudentPerformance.Delivery.Tests.Docker;

/// <summary>A container started for one test, with its ports published on 127.0.0.1; disposing removes it.</summary>
public sealed class RunningContainer : IAsyncDisposable
{
    private RunningContainer(string name) => Name = name;

    public string Name { get; }

    /// <summary>
    /// <c>docker run -d</c> of <paramref name="image"/> under a unique name, publishing each of
    /// <paramref name="containerPorts"/> on a random port of 127.0.0.1.
    /// </summary>
    public static async Task<RunningContainer> StartAsync(
        string image, IEnumerable<int> containerPorts, IEnumerable<string>? extraRunArguments = null)
    {
        var name = DockerCli.UniqueName("delivery-run");
        var arguments = new List<string> { "run", "--detach", "--name", name };
        foreach (var port in containerPorts)
        {
            arguments.Add("--publish");
            arguments.Add($"127.0.0.1::{port}");
        }

        arguments.AddRange(extraRunArguments ?? []);
        arguments.Add(image);
        var container = new RunningContainer(name);
        var result = await DockerCli.RunAsync(arguments, TimeSpan.FromMinutes(1));
        if (!result.Succeeded)
        {
            await container.DisposeAsync();
            result.EnsureSuccess();
        }

        return container;
    }

    /// <summary>The 127.0.0.1 port that Docker published for <paramref name="containerPort"/>.</summary>
    public async Task<int> HostPortAsync(int containerPort)
    {
        var mapping = (await DockerCli.RunAsync("port", Name, $"{containerPort}/tcp")).EnsureSuccess().StdOut;
        var first = mapping.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim();
        return int.Parse(first[(first.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
    }

    public Task<string> InspectAsync(string format) => DockerCli.InspectAsync(Name, format);

    public async Task<string> LogsAsync() => (await DockerCli.RunAsync("logs", "--tail", "50", Name)).Tail(50);

    public async ValueTask DisposeAsync() => await DockerCli.RunAsync("rm", "--force", "--volumes", Name);
}
