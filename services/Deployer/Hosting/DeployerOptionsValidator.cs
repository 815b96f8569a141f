using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.V1;

namespace StudentPerformance.Deployer.Hosting;

/// <summary>
/// Checks what data annotations cannot express. Every message starts with the configuration key, so that
/// an operator can fix the setting without reading code.
/// </summary>
internal sealed class DeployerOptionsValidator : IValidateOptions<DeployerOptions>
{
    private static readonly string[] RestartPolicies = ["no", "always", "unless-stopped", "on-failure"];

    public ValidateOptionsResult Validate(string? name, DeployerOptions options)
    {
        var errors = new List<string>();
        const string S = DeployerOptions.SectionName;

        var container = options.Container;
        if (!IsValidContainerName(container.Name))
        {
            errors.Add($"{S}:Container:Name ('{container.Name}') must be a Docker container name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 100 characters.");
        }

        if (!IPAddress.TryParse(container.HostIp, out _))
        {
            errors.Add($"{S}:Container:HostIp ('{container.HostIp}') must be an IP address.");
        }

        for (var i = 0; i < container.Ports.Count; i++)
        {
            if (!PortBinding.TryParse(container.Ports[i], container.HostIp, out _))
            {
                errors.Add($"{S}:Container:Ports:{i} ('{container.Ports[i]}') must be host:container or ip:host:container, ports 1-65535.");
            }
        }

        if (container.GrpcPort is < 1 or > 65535)
        {
            errors.Add($"{S}:Container:GrpcPort ({container.GrpcPort}) must be a port 1-65535.");
        }
        else if (ContainerSpecFactory.Bindings(container).All(b => b.ContainerPort != container.GrpcPort))
        {
            errors.Add($"{S}:Container:GrpcPort ({container.GrpcPort}) must be published by one of {S}:Container:Ports, or the deployer cannot probe it.");
        }

        if (!RestartPolicies.Contains(container.RestartPolicy, StringComparer.Ordinal))
        {
            errors.Add($"{S}:Container:RestartPolicy ('{container.RestartPolicy}') must be one of {string.Join(", ", RestartPolicies)}.");
        }

        if (container.MemoryMiB < 0)
        {
            errors.Add($"{S}:Container:MemoryMiB ({container.MemoryMiB}) must be 0 (no limit) or positive.");
        }

        if (container.Cpus < 0 || double.IsNaN(container.Cpus))
        {
            errors.Add($"{S}:Container:Cpus ({container.Cpus}) must be 0 (no limit) or positive.");
        }

        RequirePositive(errors, $"{S}:Container:StopTimeout", container.StopTimeout);
        ContainerHardeningValidator.Validate(container.Hardening, $"{S}:Container:Hardening", errors);
        RequirePositive(errors, $"{S}:Preflight:Timeout", options.Preflight.Timeout);
        RequirePositive(errors, $"{S}:HealthGate:Deadline", options.HealthGate.Deadline);
        RequirePositive(errors, $"{S}:HealthGate:ProbeInterval", options.HealthGate.ProbeInterval);
        RequirePositive(errors, $"{S}:HealthGate:RestoreTimeout", options.HealthGate.RestoreTimeout);
        RequirePositive(errors, $"{S}:Docker:CallTimeout", options.Docker.CallTimeout);
        RequirePositive(errors, $"{S}:Docker:PullTimeout", options.Docker.PullTimeout);
        RequirePositive(errors, $"{S}:Webhook:Timeout", options.Webhook.Timeout);
        if (options.HealthGate.StableFor < TimeSpan.Zero || options.HealthGate.StableFor >= options.HealthGate.Deadline)
        {
            errors.Add($"{S}:HealthGate:StableFor ({options.HealthGate.StableFor}) must be at least 0 and shorter than {S}:HealthGate:Deadline ({options.HealthGate.Deadline}).");
        }

        try
        {
            var request = JsonParser.Default.Parse<PredictRequest>(options.Preflight.GoldenRequest);
            if (request.Student is null)
            {
                errors.Add($"{S}:Preflight:GoldenRequest must contain a \"student\" object.");
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            errors.Add($"{S}:Preflight:GoldenRequest is not a PredictRequest in protobuf JSON: {ex.Message}");
        }
        catch (InvalidJsonException ex)
        {
            errors.Add($"{S}:Preflight:GoldenRequest is not valid JSON: {ex.Message}");
        }

        if (!(options.Preflight.MinScore <= options.Preflight.MaxScore))
        {
            errors.Add($"{S}:Preflight:MinScore ({options.Preflight.MinScore}) must not exceed {S}:Preflight:MaxScore ({options.Preflight.MaxScore}).");
        }

        if (options.Disk.MinFreeMiB < 0)
        {
            errors.Add($"{S}:Disk:MinFreeMiB ({options.Disk.MinFreeMiB}) must be 0 or positive.");
        }

        if (options.Disk.KeepImages < 1)
        {
            errors.Add($"{S}:Disk:KeepImages ({options.Disk.KeepImages}) must be at least 1 (the running image).");
        }

        if (!Uri.TryCreate(options.Docker.Endpoint, UriKind.Absolute, out var docker) || docker.Scheme is not ("unix" or "tcp" or "http" or "npipe"))
        {
            errors.Add($"{S}:Docker:Endpoint ('{options.Docker.Endpoint}') must be an absolute unix://, tcp:// or http:// URI.");
        }

        if (!Uri.TryCreate(options.Admin.Url, UriKind.Absolute, out var admin) || admin.Scheme != Uri.UriSchemeHttp)
        {
            errors.Add($"{S}:Admin:Url ('{options.Admin.Url}') must be an absolute http:// URL such as http://127.0.0.1:9090.");
        }

        if (options.Webhook.Url.Length > 0
            && (!Uri.TryCreate(options.Webhook.Url, UriKind.Absolute, out var hook) || hook.Scheme is not ("http" or "https")))
        {
            errors.Add($"{S}:Webhook:Url ('{options.Webhook.Url}') must be an absolute http(s) URL or empty.");
        }

        if (string.IsNullOrWhiteSpace(options.StateDirectory))
        {
            errors.Add($"{S}:StateDirectory must name a folder.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void RequirePositive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} ({value}) must be positive.");
        }
    }

    private static bool IsValidContainerName(string? name) =>
        !string.IsNullOrEmpty(name)
        && name.Length <= 100
        && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
}
